#!/usr/bin/env node
// The informers' list alone (issue 12's cold start): KubeSource, with the model's holdParsed as
// the agent runs it, lists the API-server double's N Services and EndpointSlices (10 endpoints
// each, as bench/scale.mjs preloads them), and nothing else: no compile, no maps. Each run is a
// process of its own; it prints the list's wall time, the agent's CPU time (all its threads), its
// GC (scavenges and mark-compacts, count and ms), the double's CPU time, and RSS and heap after.
// Much less noisy than the whole cold start in bench/scale.mjs, for work on the list itself.
//
//   make all && sudo node bench/scale-list.mjs [--services 10000] [--runs 3] [--node-flags "..."]
//
// Needs root (a network namespace made for the run, removed on exit; no program attached).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { opt } from './args.mjs';

const ROOT = new URL('..', import.meta.url).pathname;
const argv = process.argv.slice(2);

if (argv[0] === '--child') await child(argv[1]);
else await main();

/** One list against the double at @url; prints one JSON line. */
async function child(url) {
  const { pino } = await import('pino');
  const { KubeSource } = await import('../dist/k8s/source.js');
  const { holdParsed } = await import('../dist/model/held.js');
  const { connect } = await import('../dist/k8s/kubeconfig.js');
  const { kubeconfigFor } = await import('../dist/fakeapi/server.js');
  const kubeconfig = join(tmpdir(), `sy-scale-list-${process.pid}.kubeconfig`);
  writeFileSync(kubeconfig, kubeconfigFor(url));
  process.on('exit', () => rmSync(kubeconfig, { force: true }));
  // A run stopped by a signal (Ctrl-C, or the parent's cleanup) exits through 'exit' too: without
  // these, node ends at once and its kubeconfig stayed in /tmp (three were found in session 13).
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ])
    process.on(signal, () => process.exit(code));
  const gc = { minor: [0, 0], major: [0, 0] };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = e.detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR ? 'minor' : 'major';
      gc[kind][0]++;
      gc[kind][1] += e.duration;
    }
  }).observe({ entryTypes: ['gc'] });
  const api = await connect({ kubeconfig }); // the kubeconfig is read first, as the agent does
  const source = new KubeSource({ api, nodeName: 'node1', logger: pino({ level: 'warn' }), hold: holdParsed });
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  await source.start(() => {});
  const listMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  await new Promise((r) => setTimeout(r, 50)); // the last GC entries
  const mem = process.memoryUsage();
  console.log(
    JSON.stringify({
      listMs,
      cpuMs: (cpu.user + cpu.system) / 1000,
      gc,
      rssMiB: mem.rss / 2 ** 20,
      heapMiB: mem.heapUsed / 2 ** 20,
    }),
  );
  await source.stop();
  process.exit(0);
}

async function main() {
  const { createNode, deleteNamespace, spawnIn } = await import('../dist/lab/namespaces.js');
  const { AGENT_NODE_FLAGS } = await import('../dist/util/agent-node-flags.js');
  const { apiState } = await import('./scale-objects.mjs');
  const N = Number(opt('services', '10000'));
  const RUNS = Number(opt('runs', '3'));
  const flags = opt('node-flags')?.split(' ').filter(Boolean) ?? AGENT_NODE_FLAGS;
  const ns = `syl${(process.pid % 10000).toString(36)}${Math.random().toString(36).slice(2, 4)}`;
  const work = mkdtempSync(join(tmpdir(), `${ns}-`));
  let api;
  const cleanup = () => {
    api?.kill('SIGKILL');
    deleteNamespace(ns);
    rmSync(work, { recursive: true, force: true });
  };
  process.on('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  try {
    writeFileSync(join(work, 'state.json'), JSON.stringify(apiState(N)));
    createNode(ns);
    const log = join(work, 'api.log');
    api = spawnIn(ns, [process.execPath, join(ROOT, 'bench/scale-api.mjs'), join(work, 'state.json'), '6443'], {
      logFd: openSync(log, 'a'),
    });
    for (let t = 0; !readFileSync(log, 'utf8').includes('listening'); t++) {
      if (t > Math.max(1200, N / 10)) throw new Error('the API double did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
    const apiCpuMs = () => {
      const f = readFileSync(`/proc/${api.pid}/stat`, 'utf8').split(') ')[1].split(' ');
      return (Number(f[11]) + Number(f[12])) * 10; // utime + stime, in 10 ms ticks
    };
    console.log(`${N} Services × 10 endpoints, node ${flags.join(' ')}`);
    console.log(
      '| run | list (ms) | agent CPU (ms) | scavenges (n / ms) | major GC (n / ms) | double CPU (ms) | RSS / heap after (MiB) |',
    );
    console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (let run = 1; run <= RUNS; run++) {
      const before = apiCpuMs();
      const script = join(ROOT, 'bench/scale-list.mjs');
      const r = spawnSync(
        'ip',
        ['netns', 'exec', ns, process.execPath, ...flags, script, '--child', 'http://127.0.0.1:6443'],
        {
          encoding: 'utf8',
        },
      );
      if (r.status !== 0) throw new Error(`list run ${run} failed: ${r.stderr}`);
      const j = JSON.parse(r.stdout.trim().split('\n').pop());
      const gc = (g) => `${g[0]} / ${Math.round(g[1])}`;
      const row = [run, Math.round(j.listMs), Math.round(j.cpuMs), gc(j.gc.minor), gc(j.gc.major), apiCpuMs() - before];
      console.log(`| ${[...row, `${Math.round(j.rssMiB)} / ${Math.round(j.heapMiB)}`].join(' | ')} |`);
    }
  } finally {
    cleanup();
  }
}
