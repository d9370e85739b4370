// The agent's own part of bench/scale.mjs's cold start, in one process and without HTTP: the
// Pipeline and Reconciler (real, unpinned maps; nothing attached) on a source that hands over
// N Services × 10 endpoints as the informers hold them (slices trimmed as src/k8s/trim.ts
// leaves them). Times the first full sync (model, compile, plan, map writes: wall and CPU), a
// second full sync, and 300 partial syncs of one swapped endpoint each; prints the heap the
// pipeline's own tables hold (heap after the first sync, less the heap with only the source's
// objects). Needs root (BPF maps) and --expose-gc:
//
//   node --expose-gc bench/scale-pipeline.mjs 10000 [heap-snapshot-file]
//   node --expose-gc bench/scale-pipeline.mjs 10000 --phases   # only the first sync, stage by stage
//   SY_SCALE_CPU_PROF=DIR node ...                            # a CPU profile of the syncs, in DIR
//
// --phases runs the first full sync's stages by hand, as Pipeline.fullSync does, and prints each
// one's wall time (model, compile, the reconciler's plan and map writes): for work on one stage.
import { join } from 'node:path';
import { pino } from 'pino';
import { BpfObject, silenceLibbpf } from '../dist/bpf/index.js';
import { dataplaneMaps } from '../dist/dataplane/maps.js';
import { Reconciler } from '../dist/dataplane/reconciler.js';
import { Pipeline } from '../dist/agent/pipeline.js';
import { mapSizes } from '../dist/agent/map-sizes.js';
import { serviceObject, sliceObject } from './scale-objects.mjs';
import { startProfile } from './cpu-profile.mjs';

const [servicesArg, snapshotFile] = process.argv.slice(2);
const N = Number(servicesArg);
const ROOT = new URL('..', import.meta.url).pathname;
if (!global.gc) throw new Error('run with node --expose-gc');
silenceLibbpf();
const lbMax = Math.max(65536, 2 ** Math.ceil(Math.log2(N * 3)));
const obj = BpfObject.open(join(ROOT, 'build/bpf/switchyard.o'), { maxEntries: mapSizes({ bpfLbMapMax: lbMax }) });
const maps = dataplaneMaps(obj);

// Through JSON, as the informers' objects come: no string or object shared between them.
const wire = (o) => JSON.parse(JSON.stringify(o));
const slice = (i, v) => wire(sliceObject(i, v));
const service = (i) => wire(serviceObject(i));
const services = new Map();
const slices = new Map();
for (let i = 0; i < N; i++) {
  services.set(`default/svc${i}`, { object: service(i), origin: 'apiserver' });
  slices.set(`default/svc${i}-1`, { object: slice(i), origin: 'apiserver' });
}
const nodes = [{ object: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node1' } }, origin: 'apiserver' }];
const source = {
  name: 'bench',
  start: async () => {},
  stop: async () => {},
  snapshot: () => ({ services: [...services.values()], endpointSlices: [...slices.values()], nodes, errors: [] }),
  get: (c) => (c.kind === 'services' ? services : slices).get(c.key),
};
const log = pino({ level: 'silent' });
const pipeline = new Pipeline({
  source,
  node: () => ({ nodeName: 'node1', nodePortAddresses: [] }),
  reconciler: new Reconciler(maps, log),
  log,
  minSyncPeriodMs: 100,
  fullResyncPeriodMs: 0,
});

if (snapshotFile === '--phases') await phases();

global.gc();
const heapBefore = process.memoryUsage().heapUsed;
const t0 = performance.now();
const cpu0 = process.cpuUsage();
const first = pipeline.syncNow();
const cpu = process.cpuUsage(cpu0);
const firstMs = performance.now() - t0;
if (!first || first.frontends < N) throw new Error(`first sync programmed ${first?.frontends} frontends, want ${N}`);
global.gc();
const heapAfter = process.memoryUsage().heapUsed;
if (snapshotFile) (await import('node:v8')).writeHeapSnapshot(snapshotFile);

const partial = [];
for (let k = 0; k < 300; k++) {
  const i = (k * 7919) % N;
  slices.set(`default/svc${i}-1`, { object: slice(i, k % 100), origin: 'apiserver' });
  pipeline.request({ kind: 'endpointSlices', key: `default/svc${i}-1` });
  const t = performance.now();
  const r = pipeline.syncNow();
  partial.push(performance.now() - t);
  if (r?.mode !== 'partial') throw new Error('a change did not make a partial sync');
}
pipeline.stop();
const t1 = performance.now();
pipeline.request();
pipeline.syncNow();
const secondMs = performance.now() - t1;
partial.sort((a, b) => a - b);
const MiB = 2 ** 20;
const r1 = (x) => Math.round(x * 10) / 10;
console.log(
  JSON.stringify({
    services: N,
    firstSyncMs: Math.round(firstMs),
    firstSyncCpuMs: Math.round((cpu.user + cpu.system) / 1000),
    secondFullSyncMs: Math.round(secondMs),
    partialSyncMs: { p50: r1(partial[150]), p99: r1(partial[296]) },
    pipelineHeapMiB: r1((heapAfter - heapBefore) / MiB),
    heapMiB: r1(heapAfter / MiB),
    rssMiB: Math.round(process.memoryUsage().rss / MiB),
  }),
);
obj.close();
process.exit(0);

/** The first full sync's stages, each timed (ms), then exits. */
async function phases() {
  const { ModelTracker } = await import('../dist/model/tracker.js');
  const { IncrementalCompiler } = await import('../dist/compile/incremental.js');
  const { IdAllocator } = await import('../dist/compile/ids.js');
  const reconciler = new Reconciler(maps, log);
  const compiler = new IncrementalCompiler(new IdAllocator());
  global.gc();
  const profiler = process.env.SY_SCALE_CPU_PROF && (await startProfile(process.env.SY_SCALE_CPU_PROF, `phases-${N}`));
  const ms = {};
  const cpuMs = {};
  let t = performance.now();
  let c = process.cpuUsage();
  // Wall and CPU time (this process's threads): host steal moves the first, not the second.
  const mark = (stage) => {
    const now = performance.now();
    const cpu = process.cpuUsage(c);
    ms[stage] = Math.round(now - t);
    cpuMs[stage] = Math.round((cpu.user + cpu.system) / 1000);
    t = now;
    c = process.cpuUsage();
  };
  const { model } = new ModelTracker().rebuild(source.snapshot());
  mark('modelMs');
  const desired = compiler.full(model, { nodeName: 'node1', nodePortAddresses: [] });
  mark('compileMs');
  const result = reconciler.sync(desired);
  mark('planAndWriteMs');
  await profiler?.();
  console.log(JSON.stringify({ services: N, ...ms, cpuMs, writes: result.writes }));
  obj.close();
  process.exit(0);
}
