#!/usr/bin/env node
// The control plane at scale (issue 12): the agent's control plane against the API-server double
// preloaded with N ClusterIP Services × 10 endpoints, on real (unpinned) maps. For each N:
//   - cold start: the informers list everything → every Service programmed (wall time, and the
//     CPU time of all the agent's threads, which host noise moves much less);
//   - one endpoint change (a PUT of one EndpointSlice swapping one endpoint), one at a time:
//     from the watch event and from the API write to the maps written, p50/p99;
//   - map operations per change, event-loop lag p99 during the changes, agent RSS (after start,
//     after the changes, at its highest during the rolling update, and once idle, 15 s and 30 s
//     after the last change: V8 gives memory back some 8–16 s into a quiet spell).
//
//   - a rolling update: 1,000 endpoint changes per second for --rolling seconds (0: skip), every
//     last change checked in the maps, the drain time after the last write, event-loop lag.
//
//   - the baseline: kube-proxy's iptables-legacy partial sync of one swapped endpoint at the same
//     N (bench/kube-proxy-iptables.mjs, the rules bench/clusterip.mjs installs), and our change
//     latencies as ratios against it.
//
//   make all && sudo node bench/scale.mjs [--services 1000,10000] [--changes 100] [--rolling 30]
//                                         [--iptables-syncs 20] [--cpu-prof DIR]
//
// Needs root. Everything runs in one network namespace made for the run (the API double on its
// 127.0.0.1:6443, the measuring process bench/scale-agent.mjs beside it; the iptables baseline in
// a second one of its own); no program is attached anywhere, the maps are unpinned and go with the process. Removed on exit, Ctrl-C included.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNode, deleteNamespace, run, spawnIn } from '../dist/lab/namespaces.js';
import { AGENT_NODE_FLAGS } from '../dist/util/agent-node-flags.js';
import { iptablesPartialSync, iptablesRules } from './kube-proxy-iptables.mjs';
import { apiState, endpoint, vipOf } from './scale-objects.mjs';
import { opt } from './args.mjs';

const ROOT = new URL('..', import.meta.url).pathname;
const argv = process.argv.slice(2);
const COUNTS = opt('services', '1000,10000').split(',').map(Number);
const CHANGES = Number(opt('changes', '100'));
const ROLLING = Number(opt('rolling', '30'));
/** --iptables-syncs K: timed kube-proxy partial syncs per N for the baseline (0: skip it). */
const IPT_SYNCS = Number(opt('iptables-syncs', '20'));
const NS = `sys${(process.pid % 10000).toString(36)}${Math.random().toString(36).slice(2, 4)}`;
/** The iptables-legacy baseline's own namespace, so its rules never sit in the agent's path. */
const IPT_NS = `${NS}k`;
const WORK = mkdtempSync(join(tmpdir(), `${NS}-`));
/** --cpu-prof DIR: a V8 CPU profile of each measuring process, written to DIR. Started by the
 *  process itself once the BPF object is loaded (scale-agent.mjs): node's own --cpu-prof sends
 *  SIGPROF from the start, and a signal pending during the verifier makes the load fail (EAGAIN). */
const PROFILE = opt('cpu-prof') ? { SY_SCALE_CPU_PROF: opt('cpu-prof') } : {};

/** --node-flags "...": V8/node flags for the measuring process, to try heap settings; by default
 *  the ones the agent runs with (src/util/agent-node-flags.ts). */
const NODE_FLAGS = opt('node-flags')?.split(' ').filter(Boolean) ?? AGENT_NODE_FLAGS;

let api;
function cleanup() {
  try {
    api?.kill('SIGKILL');
  } catch {
    /* gone */
  }
  for (const ns of [NS, IPT_NS]) {
    try {
      deleteNamespace(ns);
    } catch {
      /* gone */
    }
  }
  rmSync(WORK, { recursive: true, force: true });
}
// SIGTERM too (pkill, timeout): without a handler node exits at once and leaves the namespaces.
for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
]) {
  process.on(signal, () => {
    cleanup();
    process.exit(code);
  });
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

const percentile = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];

/**
 * The baseline: kube-proxy's iptables mode (iptables-legacy) with the same N Services × 10
 * endpoints, then `syncs` partial syncs that each swap one endpoint of one Service, each timed
 * as kube-proxy pays it: one iptables-restore --noflush process (legacy reads and rewrites the
 * whole nat table on every commit, which is why its cost follows N).
 */
function iptablesBaseline(n, syncs) {
  createNode(IPT_NS);
  try {
    const restore = (input) => run('ip', ['netns', 'exec', IPT_NS, 'iptables-legacy-restore', '--noflush'], input);
    const services = Array.from({ length: n }, (_, i) => ({
      vip: vipOf(i),
      name: `svc${i}`,
      endpoints: Array.from({ length: 10 }, (_, e) => `${endpoint(i, e)}:8080`),
    }));
    restore(iptablesRules(services));
    const times = [];
    for (let k = 0; k < syncs; k++) {
      const i = (k * 7919) % n;
      const [gone, ...kept] = services[i].endpoints;
      services[i].endpoints = [...kept, `10.${200 + (k >> 16)}.${(k >> 8) & 255}.${k & 255}:8080`];
      const t0 = process.hrtime.bigint();
      restore(iptablesPartialSync(services, i, gone));
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    // The syncs really happened: every Service still listed, the last swapped-in endpoint present.
    const nat = spawnSync('ip', ['netns', 'exec', IPT_NS, 'iptables-legacy-save', '-t', 'nat'], {
      encoding: 'utf8',
      maxBuffer: 1 << 28,
    }).stdout;
    const listed = nat.split('\n').filter((l) => l.startsWith('-A KUBE-SERVICES -d')).length;
    const last = services[((syncs - 1) * 7919) % n].endpoints.at(-1);
    if (listed !== n || !nat.includes(`--to-destination ${last}`))
      throw new Error(`iptables-legacy baseline: ${listed} Services listed (expected ${n}), ${last} present: no`);
    return { p50: percentile(times, 0.5), p99: percentile(times, 0.99) };
  } finally {
    deleteNamespace(IPT_NS);
  }
}

async function measure(n) {
  const stateFile = join(WORK, `state-${n}.json`);
  writeFileSync(stateFile, JSON.stringify(apiState(n)));
  const apiLog = join(WORK, `api-${n}.log`);
  api = spawnIn(NS, [process.execPath, join(ROOT, 'bench/scale-api.mjs'), stateFile, '6443'], {
    logFd: openSync(apiLog, 'a'),
  });
  try {
    // Preloading takes the double ~1 s per 1,000 Services on a busy machine: allow for it.
    await waitForLine(apiLog, 'listening', Math.max(120_000, n * 12));
    const r = spawnSync(
      'ip',
      [
        'netns',
        'exec',
        NS,
        process.execPath,
        '--expose-gc',
        ...NODE_FLAGS,
        join(ROOT, 'bench/scale-agent.mjs'),
        'http://127.0.0.1:6443',
        String(n),
        String(CHANGES),
        String(ROLLING),
      ],
      { encoding: 'utf8', maxBuffer: 1 << 24, env: { ...process.env, ...PROFILE } },
    );
    // SY_SCALE_AGENT_STDOUT=FILE keeps the measuring process's output (e.g. --trace-gc's lines).
    if (process.env.SY_SCALE_AGENT_STDOUT) writeFileSync(process.env.SY_SCALE_AGENT_STDOUT, r.stdout);
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
    const row = await measure(n);
    if (IPT_SYNCS > 0) {
      process.stderr.write(`  kube-proxy iptables-legacy baseline, ${IPT_SYNCS} partial syncs ...\n`);
      row.iptables = iptablesBaseline(n, IPT_SYNCS);
    }
    if (argv.includes('--json')) process.stderr.write(`${JSON.stringify(row)}\n`);
    rows.push(row);
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
      'kube-proxy iptables-legacy partial sync (one endpoint swapped), p50 / p99 (ms)',
      'baseline',
      ...rows.map((r) => (r.iptables ? `${ms(r.iptables.p50)} / ${ms(r.iptables.p99)}` : '-')),
    ]),
    line([
      '  ÷ Switchyard watch event → maps, p50 / p99 (times faster)',
      '',
      ...rows.map((r) =>
        r.iptables
          ? `${(r.iptables.p50 / r.watchToMaps.p50).toFixed(0)}× / ${(r.iptables.p99 / r.watchToMaps.p99).toFixed(0)}×`
          : '-',
      ),
    ]),
    line([
      '  ÷ Switchyard API write → maps, p50 / p99 (times faster)',
      '',
      ...rows.map((r) =>
        r.iptables
          ? `${(r.iptables.p50 / r.writeToMaps.p50).toFixed(0)}× / ${(r.iptables.p99 / r.writeToMaps.p99).toFixed(0)}×`
          : '-',
      ),
    ]),
    line([
      'map writes + deletes per change, median / max',
      '= what changed',
      ...rows.map((r) => `${r.mapOpsPerChange.p50} / ${r.mapOpsPerChange.max}`),
    ]),
    line(['cold start, list → every Service programmed (ms)', '< 2000', ...rows.map((r) => ms(r.coldMs))]),
    line(["  CPU time meanwhile, all the agent's threads (ms)", '', ...rows.map((r) => ms(r.coldCpuMs))]),
    line(["  of which the informers' list (ms)", '', ...rows.map((r) => ms(r.listedMs))]),
    line(["  of which the first sync's plan and map writes (ms)", '', ...rows.map((r) => ms(r.firstWritesMs))]),
    line(['event-loop lag p99 during the changes (ms)', '< 50', ...rows.map((r) => ms(r.eventLoopLagP99Ms))]),
    line([
      'rolling update: changes/s sent (not sent: writer over 256 in flight) / syncs',
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
      'RSS at its highest during the rolling update (MiB, sampled every 100 ms)',
      '< 150',
      ...rows.map((r) => (r.rolling ? r.rolling.peakRssMiB.toFixed(0) : '-')),
    ]),
    line([
      'RSS once idle: 15 s / 30 s after the last change (MiB)',
      '< 150',
      ...rows.map((r) => `${r.rssMiB.idle.toFixed(0)} / ${r.rssMiB.idle30.toFixed(0)}`),
    ]),
    line([
      '  JS heap in use after a GC, after start / after all the changes (MiB)',
      '',
      ...rows.map((r) => `${r.heapMiB.afterStart.toFixed(0)} / ${r.heapMiB.afterChanges.toFixed(0)}`),
    ]),
  ];
  console.log(table.join('\n'));
} finally {
  cleanup();
}
