#!/usr/bin/env node
// The control plane at scale (issue 12): the agent's control plane against the API-server double
// preloaded with N ClusterIP Services × 10 endpoints, on real (unpinned) maps. For each N:
//   - cold start: the informers list everything → every Service programmed;
//   - one endpoint change (a PUT of one EndpointSlice swapping one endpoint), one at a time:
//     from the watch event and from the API write to the maps written, p50/p99;
//   - map operations per change, event-loop lag p99 during the changes, agent RSS.
//
//   - a rolling update: 1,000 endpoint changes per second for --rolling seconds (0: skip), every
//     last change checked in the maps, the drain time after the last write, event-loop lag.
//
//   make all && sudo node bench/scale.mjs [--services 1000,10000] [--changes 100] [--rolling 30] [--cpu-prof DIR]
//
// Needs root. Everything runs in one network namespace made for the run (the API double on its
// 127.0.0.1:6443, the measuring process bench/scale-agent.mjs beside it); no program is attached
// anywhere, the maps are unpinned and go with the process. Removed on exit, Ctrl-C included.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNode, deleteNamespace, spawnIn } from '../dist/lab/namespaces.js';

const ROOT = new URL('..', import.meta.url).pathname;
const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
};
const COUNTS = opt('services', '1000,10000').split(',').map(Number);
const CHANGES = Number(opt('changes', '100'));
const ROLLING = Number(opt('rolling', '30'));
const NS = `sys${(process.pid % 10000).toString(36)}${Math.random().toString(36).slice(2, 4)}`;
const WORK = mkdtempSync(join(tmpdir(), `${NS}-`));
/** --cpu-prof DIR: a V8 CPU profile of each measuring process, written to DIR. */
const PROFILE = opt('cpu-prof') ? ['--cpu-prof', '--cpu-prof-dir', opt('cpu-prof')] : [];

let api;
function cleanup() {
  try {
    api?.kill('SIGKILL');
  } catch {
    /* gone */
  }
  try {
    deleteNamespace(NS);
  } catch {
    /* gone */
  }
  rmSync(WORK, { recursive: true, force: true });
}
process.on('SIGINT', () => {
  cleanup();
  process.exit(130);
});

/** N Services, each with one slice of 10 endpoints, half on this node; and the Node. */
function state(n) {
  const objects = [{ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node1' } }];
  for (let i = 0; i < n; i++) {
    const name = `svc${i}`;
    objects.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: 'default' },
      spec: {
        type: 'ClusterIP',
        clusterIP: `10.${96 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`,
        ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }],
      },
    });
    objects.push({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      addressType: 'IPv4',
      metadata: { name: `${name}-1`, namespace: 'default', labels: { 'kubernetes.io/service-name': name } },
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      endpoints: Array.from({ length: 10 }, (_, e) => ({
        addresses: [`10.${64 + ((i >> 8) & 127)}.${i & 255}.${e + 1}`],
        conditions: { ready: true },
        nodeName: e % 2 ? 'node1' : 'node2',
      })),
    });
  }
  return objects;
}

async function waitForLine(file, text, timeoutMs) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      if (readFileSync(file, 'utf8').includes(text)) return;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for "${text}" in ${file}`);
}

async function measure(n) {
  const stateFile = join(WORK, `state-${n}.json`);
  writeFileSync(stateFile, JSON.stringify(state(n)));
  const apiLog = join(WORK, `api-${n}.log`);
  api = spawnIn(NS, [process.execPath, join(ROOT, 'bench/scale-api.mjs'), stateFile, '6443'], {
    logFd: openSync(apiLog, 'a'),
  });
  try {
    await waitForLine(apiLog, 'listening', 120_000);
    const r = spawnSync(
      'ip',
      [
        'netns',
        'exec',
        NS,
        process.execPath,
        '--expose-gc',
        ...PROFILE,
        join(ROOT, 'bench/scale-agent.mjs'),
        'http://127.0.0.1:6443',
        String(n),
        String(CHANGES),
        String(ROLLING),
      ],
      { encoding: 'utf8', maxBuffer: 1 << 24 },
    );
    if (r.status !== 0) throw new Error(`scale-agent (${n} Services) failed: ${r.stderr || r.stdout}`);
    return JSON.parse(r.stdout.trim().split('\n').pop());
  } finally {
    api.kill('SIGKILL');
    await new Promise((res) => (api.exitCode !== null ? res() : api.once('exit', res)));
    api = undefined;
  }
}

try {
  createNode(NS);
  const rows = [];
  for (const n of COUNTS) {
    process.stderr.write(`${n} Services × 10 endpoints ...\n`);
    rows.push(await measure(n));
  }
  const ms = (x) => (x < 10 ? x.toFixed(2) : x.toFixed(0));
  const head = ['figure', 'target', ...rows.map((r) => `${r.services.toLocaleString('en')} Services`)];
  const line = (cells) => `| ${cells.join(' | ')} |`;
  const table = [
    line(head),
    line(head.map(() => '---')),
    line([
      'one endpoint change, watch event → maps written, p50 / p99 (ms)',
      'p99 < 10',
      ...rows.map((r) => `${ms(r.watchToMaps.p50)} / ${ms(r.watchToMaps.p99)}`),
    ]),
    line([
      'one endpoint change, API write → maps written, p50 / p99 (ms)',
      'p99 < 50',
      ...rows.map((r) => `${ms(r.writeToMaps.p50)} / ${ms(r.writeToMaps.p99)}`),
    ]),
    line([
      'map writes + deletes per change, median / max',
      '= what changed',
      ...rows.map((r) => `${r.mapOpsPerChange.p50} / ${r.mapOpsPerChange.max}`),
    ]),
    line(['cold start, list → every Service programmed (ms)', '< 2000', ...rows.map((r) => ms(r.coldMs))]),
    line(["  of which the informers' list (ms)", '', ...rows.map((r) => ms(r.listedMs))]),
    line(["  of which the first sync's plan and map writes (ms)", '', ...rows.map((r) => ms(r.firstWritesMs))]),
    line(['event-loop lag p99 during the changes (ms)', '< 50', ...rows.map((r) => ms(r.eventLoopLagP99Ms))]),
    line([
      'rolling update: changes/s sent (not sent: writer over 64 in flight) / syncs',
      '1000',
      ...rows.map((r) =>
        r.rolling ? `${r.rolling.perSecond.toFixed(0)} (${r.rolling.dropped}) / ${r.rolling.syncs}` : '-',
      ),
    ]),
    line([
      'rolling update: every last change in the maps, drain after the last write (ms)',
      'no backlog',
      ...rows.map((r) => (r.rolling ? `yes, ${ms(r.rolling.drainMs)}` : '-')),
    ]),
    line([
      'rolling update: event-loop lag p99 (ms), failed syncs',
      '< 50',
      ...rows.map((r) => (r.rolling ? `${ms(r.rolling.eventLoopLagP99Ms)}, ${r.rolling.failedSyncs}` : '-')),
    ]),
    line([
      'RSS after start / after all the changes (MiB)',
      '< 150',
      ...rows.map((r) => `${r.rssMiB.afterStart.toFixed(0)} / ${r.rssMiB.afterChanges.toFixed(0)}`),
    ]),
    line([
      '  JS heap in use after a GC, same points (MiB)',
      '',
      ...rows.map((r) => `${r.heapMiB.afterStart.toFixed(0)} / ${r.heapMiB.afterChanges.toFixed(0)}`),
    ]),
  ];
  console.log(table.join('\n'));
} finally {
  cleanup();
}
