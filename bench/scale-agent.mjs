// The measuring side of bench/scale.mjs, run inside the bench's node namespace: the agent's control
// plane (KubeSource → Pipeline → Reconciler) on real, unpinned maps, nothing attached. It times
// the cold start, then makes one EndpointSlice change at a time through the API (a PUT swapping
// one endpoint) and times it from the API write and from the watch event to the maps written.
// Then, with <rolling seconds> > 0, a rolling update: 1,000 endpoint changes per second (PUTs made
// by bench/scale-writer.mjs in its own process, at most 256 in flight) for that long, checking
// that every last change reached the maps, how long they took to drain after the last write, and
// the event-loop lag meanwhile.
// Prints one JSON line. Arguments: <api url> <services> <changes> [<rolling seconds>].
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';
import { pino } from 'pino';
import { BpfObject, silenceLibbpf, syncMemoryReturner } from '../dist/bpf/index.js';
import { dataplaneMaps } from '../dist/dataplane/maps.js';
import { Reconciler } from '../dist/dataplane/reconciler.js';
import { Pipeline } from '../dist/agent/pipeline.js';
import { RETURN_MEMORY_EVERY_MS } from '../dist/agent/agent.js';
import { KubeSource } from '../dist/k8s/source.js';
import { holdParsed } from '../dist/model/held.js';
import { connect } from '../dist/k8s/kubeconfig.js';
import { mapSizes } from '../dist/agent/map-sizes.js';
import { kubeconfigFor } from '../dist/fakeapi/server.js';
import { firstAddr, put, warmUpWrites } from './scale-put.mjs';
import { startProfile } from './cpu-profile.mjs';

const [url, servicesArg, changesArg, rollingArg] = process.argv.slice(2);
const ROLLING_SECONDS = Number(rollingArg ?? 0);
const SERVICES = Number(servicesArg);
const CHANGES = Number(changesArg);
const ROOT = new URL('..', import.meta.url).pathname;
const MIN_SYNC_PERIOD_MS = 100; // the agent's default
const IDLE_MS = 15_000;
const log = pino({ level: process.env.SCALE_LOG ?? 'silent' }, pino.destination(process.env.SCALE_LOG_FILE ?? 2));

silenceLibbpf();
const lbMax = Math.max(65536, 2 ** Math.ceil(Math.log2(SERVICES * 3)));
const obj = BpfObject.open(join(ROOT, 'build/bpf/switchyard.o'), { maxEntries: mapSizes({ bpfLbMapMax: lbMax }) });
const maps = dataplaneMaps(obj);
const profiler = process.env.SY_SCALE_CPU_PROF
  ? await startProfile(process.env.SY_SCALE_CPU_PROF, `scale-${SERVICES}`)
  : undefined;
const kubeconfig = join(tmpdir(), `sy-scale-${process.pid}.kubeconfig`);
writeFileSync(kubeconfig, kubeconfigFor(url));
process.on('exit', () => rmSync(kubeconfig, { force: true })); // a run leaves nothing in /tmp
// A run stopped by a signal (Ctrl-C, or the parent's cleanup) exits through 'exit' too: without
// these, node ends at once and its kubeconfig stayed in /tmp (three were found in session 13).
for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
])
  process.on(signal, () => process.exit(code));

let waiter;
let syncedAt = 0; // when the last sync's map writes were done
// When the watch event of the change being timed arrived: only that key is looked for, so the
// bench keeps no table of every key the rolling update touched in the process it measures.
let timedKey;
let eventAt;
// As the agent does, before anything is timed: the kubeconfig is read (in a child process) first.
const api = await connect({ kubeconfig });
const source = new KubeSource({ api, nodeName: 'node1', logger: log, hold: holdParsed }); // as src/agent/main.ts
const giveBack = syncMemoryReturner(RETURN_MEMORY_EVERY_MS);
const pipeline = new Pipeline({
  source,
  node: () => ({ nodeName: 'node1', nodePortAddresses: [] }),
  reconciler: new Reconciler(maps, log),
  log,
  minSyncPeriodMs: MIN_SYNC_PERIOD_MS,
  onSynced: (_d, result) => {
    syncedAt = performance.now(); // the maps are written: a change is timed to here
    waiter?.(result);
    giveBack(result.mode === 'full'); // then, as the agent does (src/agent/agent.ts)
  },
});

const t0 = performance.now();
const cpu0 = process.cpuUsage();
await source.start((change) => {
  if (change && change.kind === 'endpointSlices' && change.key === timedKey) eventAt = performance.now();
  pipeline.request(change);
});
const listedMs = performance.now() - t0;
const first = pipeline.syncNow();
const coldMs = syncedAt - t0;
// CPU time of every thread of the process (V8's GC helpers too): a host that steals CPU or runs
// something else moves the wall time much more than this, which is what A/B comparisons read.
const coldCpu = process.cpuUsage(cpu0);
const coldCpuMs = (coldCpu.user + coldCpu.system) / 1000;
if (!first || first.frontends < SERVICES)
  throw new Error(`cold start programmed ${first?.frontends} frontends, want ${SERVICES}`);
global.gc?.();
const rssAfterStart = process.memoryUsage().rss;
const heapAfterStart = process.memoryUsage().heapUsed;
const memoryAfterStart = memoryBreakdown();
// SY_SCALE_HEAP_SNAPSHOT=FILE: a V8 heap snapshot after the cold start, to see what holds the heap.
if (process.env.SY_SCALE_HEAP_SNAPSHOT) (await import('node:v8')).writeHeapSnapshot(process.env.SY_SCALE_HEAP_SNAPSHOT);

// The first PUTs of a process open its connection and warm its HTTP client: a cost of this
// measuring process, not of the API write or the agent, which the first timed change paid (it
// alone was the p99). Paid here instead, with the double's own first writes (~7 ms more for its
// first PUT), which the agent never sees.
await warmUpWrites(url, 20);

const lag = monitorEventLoopDelay({ resolution: 10 });
lag.enable();
const watchToMaps = [];
const writeToMaps = [];
const writes = [];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
for (let i = 0; i < CHANGES; i++) {
  const n = Math.floor((i * 7919) % SERVICES);
  const name = `svc${n}`;
  const done = new Promise((resolve) => {
    waiter = resolve;
  });
  timedKey = `default/${name}-1`;
  const tWrite = performance.now();
  await put(url, n, i % 100);
  const result = await done;
  const tDone = syncedAt;
  writeToMaps.push(tDone - tWrite);
  watchToMaps.push(tDone - eventAt);
  writes.push(result.writes + result.deletes);
  await sleep(MIN_SYNC_PERIOD_MS + 10); // the next change is not held back by --min-sync-period
}
lag.disable();
const rolling = ROLLING_SECONDS > 0 ? await rollingUpdate(ROLLING_SECONDS) : undefined;
global.gc?.();
const rssAfterChanges = process.memoryUsage().rss;
const memoryAfterChanges = memoryBreakdown();
// SY_SCALE_HEAP_SNAPSHOT_END=FILE: the same after the changes (and the rolling update), to see what grew.
if (process.env.SY_SCALE_HEAP_SNAPSHOT_END)
  (await import('node:v8')).writeHeapSnapshot(process.env.SY_SCALE_HEAP_SNAPSHOT_END);
const heapAfterChanges = process.memoryUsage().heapUsed;
// An agent spends its life idle between changes: V8's memory reducer shrinks the heap some 8–16 s
// into a quiet spell (its timer starts only once a full GC has found garbage, and waits again while
// the allocation rate is not low). The RSS an operator sees (kubectl top) at 15 s and at 30 s,
// without a forced GC.
await sleep(IDLE_MS);
const rssIdle = process.memoryUsage().rss;
const memoryIdle = memoryBreakdown();
await sleep(IDLE_MS);
const rssIdle30 = process.memoryUsage().rss;

/** 1,000 changes/s for @seconds (bench/scale-writer.mjs, a process of its own); every Service's
 *  last change must reach the maps. */
async function rollingUpdate(seconds) {
  waiter = undefined;
  const rlag = monitorEventLoopDelay({ resolution: 10 });
  rlag.enable();
  const syncsBefore = pipeline.status.syncs;
  // The RSS while the changes arrive, not only after them: sampled every 100 ms.
  let peakRss = 0;
  let memoryAtPeak;
  const sampler = setInterval(() => {
    const rss = process.memoryUsage.rss();
    if (rss <= peakRss) return;
    peakRss = rss;
    memoryAtPeak = memoryBreakdown(); // what the highest RSS was made of
  }, 100);
  const writer = spawn(
    process.execPath,
    [join(ROOT, 'bench/scale-writer.mjs'), url, String(SERVICES), String(seconds)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  writer.stdout.on('data', (d) => (out += d));
  const code = await new Promise((resolve) => writer.on('exit', resolve));
  if (code !== 0) throw new Error(`bench/scale-writer.mjs exited with ${code}`);
  const { sent, dropped, last } = JSON.parse(out);
  const lastWrite = performance.now();
  // The desired state is set only once a sync's map writes have landed, so it is polled, and the
  // maps are read back once, after the lag window: reading 100,000 backends through the FFI blocks
  // the loop for ~100 ms, a cost of this check that was counted in the agent's lag. Each poll only
  // counts the backends whose address is a last change (a Set of all 100,000 addresses per poll
  // was itself ~15 ms of the lag the poll measures).
  const wanted = new Set(last.map(([n, v]) => firstAddr(n, v)));
  const applied = (backends) => {
    let found = 0;
    for (const b of backends) if (wanted.has(b.addr)) found++;
    return found >= wanted.size;
  };
  while (!applied(pipeline.status.desired.backends.values())) await sleep(20);
  const drainMs = performance.now() - lastWrite;
  rlag.disable();
  clearInterval(sampler);
  if (!applied([...maps.backends.entries()].map(([, b]) => b)))
    throw new Error('rolling update: a last change is in the desired state but not in the maps');
  return {
    seconds,
    sent,
    perSecond: sent / seconds,
    dropped,
    services: last.length,
    syncs: pipeline.status.syncs - syncsBefore,
    drainMs,
    eventLoopLagP99Ms: rlag.percentile(99) / 1e6,
    failedSyncs: pipeline.status.failedSyncs,
    peakRssMiB: peakRss / 2 ** 20,
    memoryAtPeak,
  };
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
console.log(
  JSON.stringify({
    services: SERVICES,
    changes: CHANGES,
    listedMs,
    coldMs,
    coldCpuMs,
    firstWritesMs: first.durationMs,
    watchToMaps: { p50: pct(watchToMaps, 50), p99: pct(watchToMaps, 99) },
    writeToMaps: { p50: pct(writeToMaps, 50), p99: pct(writeToMaps, 99) },
    mapOpsPerChange: { p50: pct(writes, 50), max: Math.max(...writes) },
    eventLoopLagP99Ms: lag.percentile(99) / 1e6,
    rssMiB: {
      afterStart: rssAfterStart / 2 ** 20,
      afterChanges: rssAfterChanges / 2 ** 20,
      idle: rssIdle / 2 ** 20,
      idle30: rssIdle30 / 2 ** 20,
    },
    memoryAfterStart,
    memoryAfterChanges,
    memoryIdle,
    heapMiB: { afterStart: heapAfterStart / 2 ** 20, afterChanges: heapAfterChanges / 2 ** 20 },
    rolling,
    rawWrite: writeToMaps.map((x) => Math.round(x * 10) / 10),
    rawWatch: watchToMaps.map((x) => Math.round(x * 10) / 10),
  }),
);
await profiler?.();
pipeline.stop();
await source.stop();
obj.close();
process.exit(0);

/** Where the RSS is (MiB): heap committed vs in use, off-heap buffers, RSS by kind, and the
 *  committed size of each V8 heap space. */
function memoryBreakdown() {
  return Object.fromEntries([
    ...Object.entries(process.memoryUsage()).map(([k, v]) => [k, Math.round(v / 2 ** 20)]),
    ...residentKinds(),
    ...getHeapSpaceStatistics().map((s) => [s.space_name, Math.round(s.physical_space_size / 2 ** 20)]),
  ]);
}

/** RSS by kind from /proc/self/status (MiB): anonymous memory, and pages of files (node's own
 *  binary and the shared libraries), which the kernel can drop and read again. */
function residentKinds() {
  const status = readFileSync('/proc/self/status', 'utf8');
  return ['RssAnon', 'RssFile', 'RssShmem'].map((k) => [
    k,
    Math.round(Number(status.match(new RegExp(`${k}:\\s+(\\d+)`))?.[1] ?? 0) / 1024),
  ]);
}
