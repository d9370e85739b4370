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

const [N = 10000, R = 3, B = 50] = process.argv.slice(2).map(Number);
if (!global.gc) throw new Error('run with node --expose-gc');

const vipOf = (i) => `10.${96 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
// Endpoint e of Service i; in round v (≥ 0) endpoint 0 is swapped for another address.
const endpoint = (i, e, v) => `10.${64 + ((i >> 8) & 127)}.${i & 255}.${e === 0 && v !== undefined ? 100 + v : e + 1}`;
const sliceText = (i, v) =>
  JSON.stringify({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    addressType: 'IPv4',
    metadata: { name: `svc${i}-1`, namespace: 'default', labels: { 'kubernetes.io/service-name': `svc${i}` } },
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: Array.from({ length: 10 }, (_, e) => ({
      addresses: [endpoint(i, e, v)],
      conditions: { ready: true, serving: true, terminating: false },
      nodeName: e % 2 ? 'node1' : 'node2',
    })),
  });
const serviceText = (i) =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: `svc${i}`, namespace: 'default' },
    spec: {
      type: 'ClusterIP',
      clusterIP: vipOf(i),
      ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }],
    },
  });
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
