// The agent's live heap after a rolling update (issue 12), in one process and without maps: the
// model tracker and incremental compiler on N Services × 10 endpoints, held as the informers hold
// them (parse results), then R rounds in which every Service's EndpointSlice changes once (one
// endpoint's address swapped), fed B changes per partial sync as Pipeline.partialSync does. Each
// changed slice is parsed from JSON text, so its strings are new, as a watch event's are.
// Measures memory only (no timing): prints heapUsed after the full compile and after the churn,
// each after a full GC. Deterministic. Needs --expose-gc, not root:
//
//   node --expose-gc bench/scale-churn-memory.mjs [services=10000] [rounds=3] [batch=50]
import { holdParsed } from '../dist/model/held.js';
import { ModelTracker } from '../dist/model/tracker.js';
import { IncrementalCompiler } from '../dist/compile/incremental.js';
import { IdAllocator } from '../dist/compile/ids.js';
import { serviceObject, sliceObject } from './scale-objects.mjs';

const [N = 10000, R = 3, B = 50] = process.argv.slice(2).map(Number);
if (!global.gc) throw new Error('run with node --expose-gc');

const sliceText = (i, v) => JSON.stringify(sliceObject(i, v));
const serviceText = (i) => JSON.stringify(serviceObject(i));
// As an informer holds an object it has read: the parse result (src/model/held.ts).
const held = (kind, text) => holdParsed(kind, JSON.parse(text), 'apiserver');

const services = new Map();
const slices = new Map();
for (let i = 0; i < N; i++) {
  services.set(`default/svc${i}`, { object: held('Service', serviceText(i)), origin: 'apiserver' });
  slices.set(`default/svc${i}-1`, { object: held('EndpointSlice', sliceText(i)), origin: 'apiserver' });
}
const nodes = [{ object: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node1' } }, origin: 'apiserver' }];
const node = { nodeName: 'node1', nodePortAddresses: [] };

const tracker = new ModelTracker();
const compiler = new IncrementalCompiler(new IdAllocator());
tracker.rebuild({ services: [...services.values()], endpointSlices: [...slices.values()], nodes, errors: [] });
compiler.full(tracker.model, node);
const MiB = 2 ** 20;
const heap = () => {
  global.gc();
  return Math.round((process.memoryUsage().heapUsed / MiB) * 10) / 10;
};
const afterFull = heap();

let changes = [];
const flush = () => {
  const dirty = new Set();
  for (const change of changes) {
    const now = slices.get(change.key);
    for (const key of tracker.apply(change, now?.object, now?.origin ?? 'apiserver').services) dirty.add(key);
  }
  compiler.update(tracker.model, node, dirty);
  changes = [];
};
for (let v = 0; v < R; v++) {
  for (let k = 0; k < N; k++) {
    const i = (k * 7919) % N; // every Service once per round (7919 is prime), not in order
    const key = `default/svc${i}-1`;
    slices.set(key, { object: held('EndpointSlice', sliceText(i, v)), origin: 'apiserver' });
    changes.push({ kind: 'endpointSlices', key });
    if (changes.length === B) flush();
  }
}
if (changes.length > 0) flush();
const afterChurn = heap();
const desired = compiler.desired;
console.log(
  JSON.stringify({
    services: N,
    rounds: R,
    batch: B,
    heapAfterFullMiB: afterFull,
    heapAfterChurnMiB: afterChurn,
    grewMiB: Math.round((afterChurn - afterFull) * 10) / 10,
    backends: desired.backends.size,
  }),
);
