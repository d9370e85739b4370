#!/usr/bin/env node
// What the tc hooks cost a pod-to-pod packet (issue 14): one process sends a 64-byte UDP datagram
// from the client pod to a backend pod through the node and receives it (bench/loadgen.c `ping`),
// with, on every pod veth of the node,
//   none                  no program: the direct-pod-IP baseline,
//   tcx                   from_pod (ingress) and to_pod (egress) attached as the agent attaches them
//                         (src/bpf/tcx.ts),
//   clsact                the same programs as clsact filters (cls_bpf), as before tcx,
// and the maps as a socket-LB node has them for pod traffic: the pod range set (config[0]), no
// flow translated. Each datagram crosses one from_pod and one to_pod. The configurations take turns
// in --rounds rounds of --trials trials of --iterations datagrams; a trial's time is ns a datagram.
// Other work on the machine only ever adds time, so the table leads with the fastest trial and the
// 10th percentile, the figures other load touches least; the median is there for scale.
//
//   make all && sudo node bench/tc-hooks.mjs [--rounds 6] [--trials 40] [--iterations 5000]
//
// Namespaces from bench/clusterip-topo.mjs (named after the run, no route out), the object's maps
// pinned in a bpffs mounted under /run for the run; all removed on exit.
import { join } from 'node:path';
import { config as configCodec } from '../dist/abi/layouts.js';
import { tcLinkPin } from '../dist/agent/tc-links.js';
import { attachTc, attachTcHook, BpfObject, detachTc, detachTcHook, inNetns, u32 } from '../dist/bpf/index.js';
import { mountBpffs, run, unmountBpffs } from '../dist/lab/namespaces.js';
import { baseTopo, buildLoadgen, cleanupAll, live, ROOT } from './clusterip-topo.mjs';
import { opt } from './args.mjs';

const num = (name, dflt) => Number(opt(name, dflt));
const ROUNDS = num('rounds', 6);
const TRIALS = num('trials', 40);
const ITERATIONS = num('iterations', 5000);
const CONFIGS = ['none', 'tcx', 'clsact'];
const HOOKS = [
  ['from_pod', 'ingress'],
  ['to_pod', 'egress'],
];

function main() {
  if (process.getuid?.() !== 0) throw new Error('bench/tc-hooks: needs root (namespaces, BPF)');
  const loadgen = buildLoadgen();
  const t = baseTopo('t', loadgen, false);
  live.add(t);
  const pinDir = `/run/${t.prefix}-bpf`;
  mountBpffs(pinDir);
  const obj = BpfObject.open(join(ROOT, 'build/bpf/switchyard.o'), { pinDir });
  const unmount = t.destroy.bind(t);
  t.destroy = () => {
    obj.close();
    unmount();
    unmountBpffs(pinDir);
  };
  // As the agent's --cluster-cidr 10.244.0.0/16 writes it (compile.ts configEntry).
  obj.map('config', u32, configCodec).set(0, { snatAddr: '0.0.0.0', podNet: '10.244.0.0', podMask: '255.255.0.0' });
  const devices = t.pods.map((p) => p.hostIf);
  const apply = (config) =>
    inNetns(t.nodeNs, () => {
      for (const dev of devices) {
        for (const [name, dir] of HOOKS) {
          const pin = tcLinkPin(pinDir, dev, dir);
          detachTcHook(pin);
          detachTc(dev, dir);
          if (config === 'tcx') attachTcHook(dev, dir, obj.program(name), pin);
          if (config === 'clsact') attachTc(dev, dir, obj.program(name));
        }
      }
    });
  const server = t.backends[0];
  const ping = (trials) =>
    run('ip', [
      'netns',
      'exec',
      t.nodeNs,
      loadgen,
      'ping',
      server.ns,
      t.client.ns,
      server.ip,
      '9000',
      String(ITERATIONS),
      String(trials),
    ])
      .trim()
      .split('\n')
      .map(Number);
  console.log(
    `tc hooks bench: kernel ${run('uname', ['-r']).trim()}, ${run('nproc', []).trim()} CPUs; ${ROUNDS} rounds × ` +
      `${TRIALS} trials × ${ITERATIONS} datagrams per configuration, configurations in turn`,
  );
  ping(2); // warm-up
  const trials = Object.fromEntries(CONFIGS.map((c) => [c, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (let j = 0; j < CONFIGS.length; j++) {
      const config = CONFIGS[(j + round) % CONFIGS.length];
      apply(config);
      trials[config].push(...ping(TRIALS));
    }
    process.stdout.write(`  round ${round + 1}/${ROUNDS} done\n`);
  }
  apply('none');
  const pct = (xs, f) => [...xs].sort((a, b) => a - b)[Math.floor(f * (xs.length - 1))];
  const stat = (c) => ({ min: pct(trials[c], 0), p10: pct(trials[c], 0.1), p50: pct(trials[c], 0.5) });
  const base = stat('none');
  console.log('\n| hooks | trials | fastest ns | + vs none | p10 ns | + vs none | median ns |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const c of CONFIGS) {
    const s = stat(c);
    const plus = (v, b) => (c === 'none' ? '-' : `${Math.round(v - b)}`);
    console.log(
      `| ${c} | ${trials[c].length} | ${Math.round(s.min)} | ${plus(s.min, base.min)} | ${Math.round(s.p10)} | ` +
        `${plus(s.p10, base.p10)} | ${Math.round(s.p50)} |`,
    );
  }
  console.log(
    '\nns a datagram, client pod → backend pod and back into its socket: one from_pod and one to_pod run each.',
  );
}

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    cleanupAll();
    process.exit(130);
  });
}
try {
  main();
} finally {
  cleanupAll();
}
