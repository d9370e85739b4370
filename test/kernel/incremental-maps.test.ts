// Incremental sync against real (unpinned) maps: a seeded random churn of Services and
// EndpointSlices applied one object at a time (tracker → incremental compile → partial plan →
// reconciler) leaves the kernel maps, read back after every step, as a full compile of the same
// history would; and the affinity entries of untouched sets survive a partial prune.
import { afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { pino } from 'pino';
import { BpfObject, silenceLibbpf } from '../../src/bpf/index.js';
import { dataplaneMaps, type DataplaneMaps } from '../../src/dataplane/maps.js';
import { Reconciler } from '../../src/dataplane/reconciler.js';
import { emptyState, planWrites } from '../../src/dataplane/plan.js';
import {
  compile,
  IdAllocator,
  IncrementalCompiler,
  type DesiredState,
  type NodeConfig,
} from '../../src/compile/index.js';
import { buildModel } from '../../src/model/index.js';
import { ModelTracker } from '../../src/model/tracker.js';
import { Churn, normalize, rng } from '../lib/churn.js';
import { describeRoot } from '../lib/root.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const NODE: NodeConfig = { nodeName: 'node1', nodePortAddresses: ['10.250.0.11'], snatAddress: '10.250.0.11' };

describeRoot('incremental sync into real maps', () => {
  let obj: BpfObject;
  let maps: DataplaneMaps;

  beforeAll(() => {
    execFileSync('make', ['-s', '-C', ROOT, 'build/bpf/switchyard.o'], { stdio: 'pipe' });
    silenceLibbpf();
  });
  beforeEach(() => {
    obj = BpfObject.open(`${ROOT}/build/bpf/switchyard.o`);
    maps = dataplaneMaps(obj);
  });
  afterEach(() => obj.close());

  it.each([
    ['', 42, false],
    [', Maglev tables included', 43, true],
  ])('leaves the maps as a full compile of the same history, step by step%s', (_, seed, maglev) => {
    const churn = new Churn(rng(seed), { services: 8, contested: true, maglev });
    const node: NodeConfig = maglev ? { ...NODE, maglevTableSize: 251 } : NODE;
    for (let i = 0; i < 20; i++) churn.step();
    const reconciler = new Reconciler(maps, pino({ level: 'silent' }));
    const tracker = new ModelTracker();
    const ids = new IdAllocator();
    const inc = new IncrementalCompiler(ids);
    tracker.rebuild(churn.snapshot());
    reconciler.sync(inc.full(tracker.model, node));

    const refIds = new IdAllocator();
    let refDesired: DesiredState = compile(buildModel(churn.snapshot()).model, node, refIds);
    let ref = planWrites(emptyState(), refDesired).next;
    for (let i = 0; i < 120; i++) {
      const change = churn.step();
      const { desired, scope } = inc.update(
        tracker.model,
        node,
        tracker.apply(change, churn.get(change), 'churn').services,
      );
      const result = reconciler.syncScoped(desired, scope);
      expect(result.frontends).toBe(reconciler.current.frontends.size);
      refDesired = compile(buildModel(churn.snapshot()).model, node, refIds, refDesired);
      ref = planWrites(ref, refDesired).next;
      reconciler.reread(); // what the kernel holds, not what the reconciler believes
      expect(normalize(reconciler.current, ids), `step ${i} (${change.kind} ${change.key})`).toEqual(
        normalize(ref, refIds),
      );
    }
  });

  it('a partial prune deletes only stale entries of the sets that lost a member', () => {
    const objs = (eps: string[]) => ({
      services: [0, 1].map((n) => ({
        origin: 't',
        object: {
          kind: 'Service',
          metadata: { name: `s${n}`, namespace: 'default' },
          spec: { clusterIP: `10.96.0.${n + 1}`, sessionAffinity: 'ClientIP', ports: [{ port: 80, targetPort: 80 }] },
        },
      })),
      endpointSlices: [0, 1].map((n) => ({
        origin: 't',
        object: {
          kind: 'EndpointSlice',
          addressType: 'IPv4',
          metadata: { name: `s${n}-1`, namespace: 'default', labels: { 'kubernetes.io/service-name': `s${n}` } },
          ports: [{ port: 80 }],
          endpoints: (n === 0 ? eps : ['10.244.0.9']).map((a) => ({ addresses: [a], conditions: { ready: true } })),
        },
      })),
      nodes: [],
      errors: [],
    });
    const reconciler = new Reconciler(maps, pino({ level: 'silent' }));
    const tracker = new ModelTracker();
    const ids = new IdAllocator();
    const inc = new IncrementalCompiler(ids);
    tracker.rebuild(objs(['10.244.0.1', '10.244.0.2']));
    reconciler.sync(inc.full(tracker.model, NODE));
    const set = (n: number) => ids.peek('set', `default/s${n}:/TCP#all`)!;
    const be = (n: number, a: string) => ids.peek('backend', `default/s${n}:/TCP@${a}:80`)!;
    maps.affinity.setMany([
      [
        { setId: set(0), clientAddr: '10.1.0.1' },
        { lastUsedNs: 1n, backendId: be(0, '10.244.0.1') },
      ],
      [
        { setId: set(0), clientAddr: '10.1.0.2' },
        { lastUsedNs: 1n, backendId: be(0, '10.244.0.2') },
      ],
      [
        { setId: set(1), clientAddr: '10.1.0.1' },
        { lastUsedNs: 1n, backendId: be(1, '10.244.0.9') },
      ],
    ]);
    const next = objs(['10.244.0.1']).endpointSlices[0];
    const change = { kind: 'endpointSlices' as const, key: 'default/s0-1' };
    const { desired, scope } = inc.update(tracker.model, NODE, tracker.apply(change, next.object, 't').services);
    reconciler.syncScoped(desired, scope);
    expect(
      maps.affinity
        .entries()
        .map(([k]) => `${k.setId} ${k.clientAddr}`)
        .sort(),
    ).toEqual([`${set(0)} 10.1.0.1`, `${set(1)} 10.1.0.1`].sort());
  });
});
