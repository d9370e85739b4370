#!/usr/bin/env node
// NodePort from outside: new TCP connections per second (each one short HTTP/1.0 request, with
// --concurrency in flight) and per-connection latency p50/p99 (one at a time), from an external
// client on the underlay to node1, through
//   direct-local    a pod on node1, by its pod IP (the client routes the pod CIDRs via node1)
//   nodeport-local  node1's NodePort, backend on node1 (DNAT only)
//   direct-remote   a pod on node2, by its pod IP, routed via node1 (the reply goes straight back)
//   direct-remote/2 the same from the client's second address, which node2 routes via node1: both
//                   ways through node1, the same hops as the NodePort case below
//   nodeport-remote node1's NodePort, backend on node2 (DNAT + SNAT to node1, routed in BPF; the
//                   reply comes back through node1, which is what SNAT is for); compared with
//                   direct-remote/2
// in the same run, with real agents on both nodes (src/lab/topology.ts: two nodes, an underlay
// bridge, an external client).
//
//   make all && sudo node bench/nodeport.mjs [--seconds 1] [--rounds 3] [--concurrency 8]
//
// Needs root and clang (the load client/server is bench/loadgen.c, built into a temp dir). Everything
// lives in namespaces named after a prefix unique to the run, with no route out; nothing is
// attached or added in the root namespace. All of it is removed on exit, Ctrl-C included.
// About 35 s with the defaults.
//
// SNAT capacity: node1 has 33512 SNAT ports per backend, and a closed TCP flow keeps its port for
// 65 s (the backend's TIME_WAIT), so at most ~33k connections per backend per minute go through
// SNAT. The remote Service has four backends on node2, which the default run stays well inside;
// the SNAT-exhausted counter is printed so an overrun shows.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ip, mountBpffs, nsRun, run, spawnIn, unmountBpffs } from '../dist/lab/namespaces.js';
import { addPod, createTopology, destroyTopology } from '../dist/lab/topology.js';
import { openPinnedPercpuMap, silenceLibbpf } from '../dist/bpf/index.js';
import * as layouts from '../dist/abi/layouts.js';
import { CNT_FIB_PASSED, CNT_SNAT_EXHAUSTED } from '../dist/abi/index.js';
import { opt } from './args.mjs';

const ROOT = new URL('..', import.meta.url).pathname;
const argv = process.argv.slice(2);
const SECONDS = Number(opt('seconds', '1'));
const ROUNDS = Number(opt('rounds', '3'));
const CONCURRENCY = Number(opt('concurrency', '8'));

const PREFIX = `sy${randomBytes(4).toString('hex').slice(0, 5)}`; // ≤ 9 characters
const WORK = mkdtempSync(join(tmpdir(), `${PREFIX}-`));
// Each pod serves the direct cases on PORT and its Services on SVC_PORT: a DNAT-only NodePort flow
// reaches the pod with the client's own address and port, so sharing one port would let a direct
// connection meet the server's TIME_WAIT of a NodePort one (and vice versa) with a different TCP
// timestamp clock (the client keys it by destination), which PAWS rejects: a 1 s stall.
const PORT = 8080;
const SVC_PORT = 8081;
const SECOND_CLIENT = '10.250.0.201';
const CONN_TIMEOUT_MS = 1000;

// ---------------------------------------------------------------------------------------------
// The load client and server: bench/loadgen.c, built into the temp dir. `load` keeps K connections
// in flight, each socket → connect → GET → read to EOF → close, with a 1 s timeout each (-t), so a
// stalled flow (an SNAT or PAWS problem) shows as failed rather than as a gap; `serve` answers 200.

// ---------------------------------------------------------------------------------------------
const children = [];
const pinDirs = [];
let cleaned = false;
function cleanup() {
  if (cleaned) return;
  cleaned = true;
  for (const c of children) {
    try {
      c.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
  try {
    destroyTopology(PREFIX);
  } catch (err) {
    console.error(`cleanup: ${err.message}`);
  }
  for (const d of pinDirs) unmountBpffs(d);
  rmSync(WORK, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM'])
  process.on(sig, () => {
    cleanup();
    process.exit(130);
  });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

function service(name, nodePort, eps) {
  return `apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: default}
spec:
  type: NodePort
  ports: [{name: http, port: 80, targetPort: ${SVC_PORT}, protocol: TCP, nodePort: ${nodePort}}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: ${name}-1, namespace: default, labels: {kubernetes.io/service-name: ${name}}}
addressType: IPv4
ports: [{name: http, port: ${SVC_PORT}, protocol: TCP}]
endpoints:
${eps.map((p) => `  - {addresses: ["${p.ip}"], conditions: {ready: true}, nodeName: ${p.node}}`).join('\n')}
`;
}

/** One loadgen run: {ok, failed, rate (conn/s), p50, p99 (µs), ...}. */
function load(ns, host, port, seconds, k, source) {
  const args = [
    String(seconds),
    String(k),
    '-t',
    String(CONN_TIMEOUT_MS),
    ...(source ? ['-s', source] : []),
    `${host}:${port}`,
  ];
  return JSON.parse(nsRun(ns, [join(WORK, 'loadgen'), 'load', ...args]));
}

function counters(pinDir) {
  const m = openPinnedPercpuMap(join(pinDir, 'counters'), layouts.u32, layouts.u64);
  try {
    const sum = (i) => (m.get(i) ?? []).reduce((a, b) => a + b, 0n);
    return { snatExhausted: sum(CNT_SNAT_EXHAUSTED), fibPassed: sum(CNT_FIB_PASSED) };
  } finally {
    m.close();
  }
}

async function main() {
  if (process.getuid?.() !== 0) throw new Error('bench/nodeport: needs root (namespaces, BPF)');
  silenceLibbpf();
  const cc = spawnSync('clang', ['-O2', '-Wall', '-o', join(WORK, 'loadgen'), join(ROOT, 'bench/loadgen.c')], {
    encoding: 'utf8',
  });
  if (cc.status !== 0) throw new Error(`building the load generator: ${cc.stderr}`);

  const topo = createTopology(PREFIX, 2);
  const [node1, node2] = topo.nodes;
  const local = addPod(topo, 'node1', 'srv1');
  const remote = [2, 3, 4, 5].map((i) => addPod(topo, 'node2', `srv${i}`));
  for (const p of [local, ...remote]) {
    for (const port of [PORT, SVC_PORT]) children.push(spawnIn(p.ns, [join(WORK, 'loadgen'), 'serve', String(port)]));
  }

  const manifests = join(WORK, 'manifests');
  run('mkdir', ['-p', manifests]);
  writeFileSync(join(manifests, 'local.yaml'), service('np-local', 30080, [local]));
  writeFileSync(join(manifests, 'remote.yaml'), service('np-remote', 30081, remote));
  for (const node of topo.nodes) {
    const pinDir = `/run/${PREFIX}-${node.name}-bpf`;
    mountBpffs(pinDir);
    pinDirs.push(pinDir);
    children.push(
      spawnIn(
        node.ns,
        [
          process.execPath,
          join(ROOT, 'dist/cli/main.js'),
          'agent',
          '--manifests',
          manifests,
          '--pod-devices',
          `${PREFIX}p*`,
          '--devices',
          'eth0',
          '--pin-dir',
          pinDir,
          '--hostname-override',
          node.name,
          '--metrics-bind-address',
          '',
          '--healthz-bind-address',
          '',
          '--log-level',
          'warn',
        ],
        { logFd: openSync(join(WORK, `agent-${node.name}.log`), 'a') },
      ),
    );
  }
  // The direct cases: the client routes the pod CIDRs via node1 (inside its own namespace). Its
  // second address is answered through node1 too, like a NodePort reply after SNAT.
  ip('-n', topo.externalNs, 'route', 'add', '10.244.0.0/16', 'via', node1.address);
  ip('-n', topo.externalNs, 'addr', 'add', `${SECOND_CLIENT}/24`, 'dev', 'eth0');
  ip('-n', node2.ns, 'route', 'add', `${SECOND_CLIENT}/32`, 'via', node1.address);

  const cases = [
    { name: 'direct-local', host: local.ip, port: PORT, base: 'direct-local' },
    { name: 'nodeport-local', host: node1.address, port: 30080, base: 'direct-local' },
    { name: 'direct-remote', host: remote[0].ip, port: PORT, base: 'direct-remote' },
    { name: 'direct-remote/2', host: remote[0].ip, port: PORT, base: 'direct-remote/2', source: SECOND_CLIENT },
    { name: 'nodeport-remote', host: node1.address, port: 30081, base: 'direct-remote/2' },
  ];
  const only = opt('only', '');
  if (only) cases.splice(0, cases.length, ...cases.filter((c) => only.split(',').includes(c.name)));
  const deadline = Date.now() + 30_000;
  for (const c of cases) {
    while (load(topo.externalNs, c.host, c.port, 0.2, 1, c.source).ok === 0) {
      if (Date.now() > deadline)
        throw new Error(
          `${c.name} never answered; node1 agent log:\n${readFileSync(join(WORK, 'agent-node1.log'), 'utf8').slice(-2000)}`,
        );
      await sleep(250);
    }
  }

  console.log(
    `NodePort from outside, ${ROUNDS} rounds per case of ${SECONDS}s with ${CONCURRENCY} connections in flight (rate) ` +
      `and ${SECONDS}s with one at a time (latency); medians over the rounds (kernel ${run('uname', ['-r']).trim()}, ${process.version})`,
  );
  const results = Object.fromEntries(cases.map((c) => [c.name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of cases) {
      const rate = load(topo.externalNs, c.host, c.port, SECONDS, CONCURRENCY, c.source);
      const lat = load(topo.externalNs, c.host, c.port, SECONDS, 1, c.source);
      results[c.name].push({ rate: rate.rate, failed: rate.failed + lat.failed, p50: lat.p50, p99: lat.p99 });
      if (argv.includes('--verbose'))
        console.log(`  round ${round + 1} ${c.name}: rate ${JSON.stringify(rate)} latency ${JSON.stringify(lat)}`);
    }
  }

  const rows = cases.map((c) => {
    const rs = results[c.name];
    return {
      name: c.name,
      base: c.base,
      rate: median(rs.map((r) => r.rate)),
      failed: rs.reduce((a, r) => a + r.failed, 0),
      p50: median(rs.map((r) => r.p50)),
      p99: median(rs.map((r) => r.p99)),
    };
  });
  const byName = Object.fromEntries(rows.map((r) => [r.name, r]));
  console.log('');
  console.log(
    `${'case'.padEnd(16)} ${'conn/s'.padStart(9)} ${'p50 µs'.padStart(8)} ${'p99 µs'.padStart(8)} ${'failed'.padStart(7)}   vs direct (rate, p50)`,
  );
  for (const r of rows) {
    const b = byName[r.base];
    const ratio = r.name === r.base || !b ? '' : `${(r.rate / b.rate).toFixed(2)}×, ${(r.p50 / b.p50).toFixed(2)}×`;
    console.log(
      `${r.name.padEnd(16)} ${Math.round(r.rate).toString().padStart(9)} ${r.p50.toFixed(0).padStart(8)} ${r.p99.toFixed(0).padStart(8)} ${String(r.failed).padStart(7)}   ${ratio}`,
    );
  }
  const c1 = counters(pinDirs[0]);
  console.log(
    `\nnode1 data-path counters: SNAT exhausted ${c1.snatExhausted}, handed to the stack (no BPF route) ${c1.fibPassed}`,
  );
}

main().then(
  () => {
    cleanup();
    process.exit(0);
  },
  (err) => {
    console.error(err.stack ?? err);
    cleanup();
    process.exit(1);
  },
);
