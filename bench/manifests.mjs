// The manifest directory's cold start: how long the agent's standalone source takes to read a
// directory of N Services (each with one EndpointSlice of 10 endpoints, 100 Services per file),
// with the two-reader parser (src/sources/manifest-parse.ts: js-yaml, `yaml` for anchors and
// errors) against `yaml` alone, the parser it replaced, measured in the same run on the same
// files. Prints one row per size and the ratio. No root, no kernel: parsing is the part that grew
// with the directory (compile and map writes are the API path's too, measured by bench/scale.mjs).
//
//   make ts && node bench/manifests.mjs [--services 1000,10000,50000] [--rounds 3]
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseManifest, parseSafe } from '../dist/sources/manifest-parse.js';
import { ManifestSource } from '../dist/sources/manifests.js';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const SIZES = arg('services', '1000,10000,50000').split(',').map(Number);
const ROUNDS = Number(arg('rounds', '3'));

function service(i) {
  const ip = `10.${96 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
  const eps = Array.from({ length: 10 }, (_, j) => {
    const n = i * 10 + j;
    return `- addresses: ["10.${((n >> 16) & 255) | 128}.${(n >> 8) & 255}.${n & 255}"]\n  conditions: {ready: true}\n  nodeName: node1`;
  });
  return `apiVersion: v1
kind: Service
metadata: {name: svc-${i}, namespace: default}
spec:
  clusterIP: ${ip}
  selector: {app: svc-${i}}
  ports:
  - {name: http, port: 80, targetPort: 8080, protocol: TCP}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: svc-${i}-abc
  namespace: default
  labels: {kubernetes.io/service-name: svc-${i}}
addressType: IPv4
ports:
- {name: http, port: 8080, protocol: TCP}
endpoints:
${eps.join('\n')}
`;
}

function writeDir(n) {
  const dir = mkdtempSync(join(tmpdir(), 'sy-bench-manifests-'));
  for (let f = 0; f * 100 < n; f++) {
    const docs = [];
    for (let i = f * 100; i < Math.min(n, f * 100 + 100); i++) docs.push(service(i));
    writeFileSync(join(dir, `svc-${f}.yaml`), docs.join('---\n'));
  }
  return dir;
}

/** ms for the whole directory through @parse (read included), and the Services found. */
function timeParse(dir, parse) {
  const t0 = performance.now();
  let services = 0;
  for (const f of readdirSync(dir)) {
    const p = parse(readFileSync(join(dir, f), 'utf8'), f);
    if ('error' in p) throw new Error(`${f}: ${p.error}`);
    services += p.services.length;
  }
  return { ms: performance.now() - t0, services };
}

async function timeSource(dir) {
  const t0 = performance.now();
  const src = new ManifestSource({ dir, pollIntervalMs: 3_600_000 });
  await src.start(() => {});
  const ms = performance.now() - t0;
  const n = src.snapshot().services.length;
  await src.stop();
  return { ms, services: n };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`);

console.log(`manifest directory cold start, median of ${ROUNDS} rounds (100 Services × 10 endpoints per file)`);
console.log('| Services | yaml alone (before) | js-yaml + yaml (now) | ManifestSource.start (now) | speed-up |');
console.log('| -------- | ------------------- | -------------------- | -------------------------- | -------- |');
for (const n of SIZES) {
  const dir = writeDir(n);
  try {
    const before = [],
      now = [],
      source = [];
    for (let r = 0; r < ROUNDS; r++) {
      const a = timeParse(dir, parseSafe);
      const b = timeParse(dir, parseManifest);
      const c = await timeSource(dir);
      if (a.services !== n || b.services !== n || c.services !== n)
        throw new Error(`expected ${n} Services, read ${a.services} / ${b.services} / ${c.services}`);
      before.push(a.ms);
      now.push(b.ms);
      source.push(c.ms);
    }
    const ratio = (median(before) / median(now)).toFixed(1);
    console.log(
      `| ${n.toLocaleString('en')} | ${fmt(median(before))} | ${fmt(median(now))} | ${fmt(median(source))} | ${ratio}× |`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
