// Incremental sync == full sync: seeded random sequences of Service and EndpointSlice adds, edits
// and deletes, applied one at a time through the change tracker, the incremental compiler and the
// partial plan, must leave the maps exactly as a full compile and plan of the same history would,
// and (where no frontend is contested, so history cannot matter) as a from-scratch compile.
import { describe, expect, it } from 'vitest';
import {
  BackendTable,
  compile,
  IdAllocator,
  IncrementalCompiler,
  type DesiredState,
  type NodeConfig,
} from '../../src/compile/index.js';
import { buildModel } from '../../src/model/index.js';
import { ModelTracker } from '../../src/model/tracker.js';
import { emptyState, planWrites, type CurrentState } from '../../src/dataplane/plan.js';
import { slotRunEntries } from '../../src/dataplane/slot-runs.js';
import { planScoped } from '../../src/dataplane/plan-scoped.js';
import { Churn, normalize, rng } from '../lib/churn.js';

const NODE: NodeConfig = {
  nodeName: 'node1',
  nodePortAddresses: ['10.250.0.11', 'fd00:250::11'],
  snatAddress: '10.250.0.11',
  snatAddress6: 'fd00:250::11',
};
const lines = (errors: Array<{ toString(): string }>) => errors.map(String).sort();

/** Runs @steps random changes; after each, checks incremental against full. */
function run(seed: number, steps: number, contested: boolean, dualStack = false, maglev = false) {
  const churn = new Churn(rng(seed), { services: contested ? 8 : 30, contested, dualStack, maglev });
  // Maglev tables of a small prime, so a full compile per step stays quick.
  const node: NodeConfig = maglev ? { ...NODE, maglevTableSize: 251 } : NODE;
  for (let i = 0; i < 20; i++) churn.step();

  // Incremental: full at start, then one object at a time.
  const tracker = new ModelTracker();
  const incIds = new IdAllocator();
  const inc = new IncrementalCompiler(incIds);
  tracker.rebuild(churn.snapshot());
  const incState: CurrentState = planWrites(emptyState(), inc.full(tracker.model, node)).next;

  // Reference: a full compile and plan after every step, with its own allocator.
  const fullIds = new IdAllocator();
  let fullDesired: DesiredState = compile(buildModel(churn.snapshot()).model, node, fullIds);
  let fullState = planWrites(emptyState(), fullDesired).next;
  let partialWrites = 0;
  let contestedSteps = 0;

  for (let i = 0; i < steps; i++) {
    const change = churn.step();
    const affected = tracker.apply(change, churn.get(change), 'churn');
    const { desired, scope } = inc.update(tracker.model, node, affected.services);
    const plan = planScoped(incState, desired, scope);
    plan.commit(incState);
    partialWrites += plan.phases.length;
    if (desired.conflicts.length > 0) contestedSteps++;

    const built = buildModel(churn.snapshot());
    fullDesired = compile(built.model, node, fullIds, fullDesired);
    fullState = planWrites(fullState, fullDesired).next;

    const where = `seed ${seed} step ${i} (${change.kind} ${change.key})`;
    expect(normalize(incState, incIds), where).toEqual(normalize(fullState, fullIds));
    expect(lines(tracker.errors()), where).toEqual(lines(built.errors));
    expect(lines(desired.conflicts), where).toEqual(lines(fullDesired.conflicts));
    expect(lines(desired.refused), where).toEqual(lines(fullDesired.refused));
    expect(desired.healthCheck.map((h) => JSON.stringify(h)).sort(), where).toEqual(
      fullDesired.healthCheck.map((h) => JSON.stringify(h)).sort(),
    );
  }
  return { churn, incState, incIds, partialWrites, contestedSteps };
}

/** Each property run takes 1–4 s alone; on a loaded 2-core CI machine several times that. */
const PROPERTY_TIMEOUT_MS = 60_000;

describe('incremental sync equals full sync', () => {
  it(
    'matches a full compile of the same history after every step, with contested frontends',
    () => {
      // The pools are small enough that frontends are contested in many steps: the claims are tested.
      for (const seed of [1, 2, 3, 4, 5, 6]) expect(run(seed, 300, true).contestedSteps).toBeGreaterThan(50);
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'matches with dual-stack Services, IPv6 slices and IPv6 external addresses, contested or not',
    () => {
      for (const seed of [21, 22, 23]) expect(run(seed, 300, true, true).contestedSteps).toBeGreaterThan(50);
      for (const seed of [31, 32]) {
        const { churn, incState, incIds } = run(seed, 300, false, true);
        const v6 = Object.values(normalize(incState, incIds))
          .flat()
          .filter((l) => l.includes('fd10:'));
        expect(v6.length, 'IPv6 backends were programmed').toBeGreaterThan(0);
        const ids = new IdAllocator();
        const scratch = planWrites(emptyState(), compile(buildModel(churn.snapshot()).model, NODE, ids)).next;
        expect(normalize(incState, incIds, false)).toEqual(normalize(scratch, ids, false));
      }
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'matches with Maglev Services (their lookup tables written by the partial path too), contested or not',
    () => {
      for (const seed of [41, 42]) expect(run(seed, 200, true, false, true).contestedSteps).toBeGreaterThan(30);
      for (const seed of [51, 52]) {
        const { churn, incState, incIds, partialWrites } = run(seed, 300, false, true, true);
        expect(partialWrites).toBeGreaterThan(0);
        expect(normalize(incState, incIds).maglev.length, 'Maglev tables were programmed').toBeGreaterThan(0);
        const ids = new IdAllocator();
        const node = { ...NODE, maglevTableSize: 251 };
        const scratch = planWrites(emptyState(), compile(buildModel(churn.snapshot()).model, node, ids)).next;
        expect(normalize(incState, incIds, false)).toEqual(normalize(scratch, ids, false));
      }
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'matches a from-scratch compile of the final state when nothing is contested',
    () => {
      for (const seed of [11, 12, 13]) {
        const { churn, incState, incIds, partialWrites } = run(seed, 400, false);
        expect(partialWrites).toBeGreaterThan(0);
        const ids = new IdAllocator();
        const scratch = planWrites(emptyState(), compile(buildModel(churn.snapshot()).model, NODE, ids)).next;
        // Generations record history (each rewrite flips one), so they are left out here.
        expect(normalize(incState, incIds, false)).toEqual(normalize(scratch, ids, false));
      }
    },
    PROPERTY_TIMEOUT_MS,
  );

  it("plans nothing for a no-op change, and writes only the edited Service's sets for an endpoint edit", () => {
    const tracker = new ModelTracker();
    const svc = (name: string, ip: string) => ({
      kind: 'Service',
      metadata: { name, namespace: 'default' },
      spec: { clusterIP: ip, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
    });
    const slice = (svcName: string, ...addrs: string[]) => ({
      kind: 'EndpointSlice',
      addressType: 'IPv4',
      metadata: { name: `${svcName}-1`, namespace: 'default', labels: { 'kubernetes.io/service-name': svcName } },
      ports: [{ name: 'http', port: 8080 }],
      endpoints: addrs.map((a) => ({ addresses: [a], conditions: { ready: true } })),
    });
    const of = (...objects: Array<Record<string, unknown>>) => objects.map((object) => ({ object, origin: 't' }));
    tracker.rebuild({
      services: of(svc('a', '10.96.0.1'), svc('b', '10.96.0.2')),
      endpointSlices: of(slice('a', '10.244.0.1', '10.244.0.2'), slice('b', '10.244.0.3')),
      nodes: [],
      errors: [],
    });
    const ids = new IdAllocator();
    const inc = new IncrementalCompiler(ids);
    const state = planWrites(emptyState(), inc.full(tracker.model, NODE)).next;

    const noop = inc.update(tracker.model, NODE, ['default/a']);
    expect(planScoped(state, noop.desired, noop.scope).phases).toEqual([]);

    const changed = tracker.apply(
      { kind: 'endpointSlices', key: 'default/a-1' },
      slice('a', '10.244.0.1', '10.244.0.9'),
      't',
    );
    expect(changed.services).toEqual(['default/a']);
    const edit = inc.update(tracker.model, NODE, changed.services);
    const plan = planScoped(state, edit.desired, edit.scope);
    const setA = ids.peek('set', 'default/a:http/TCP#all');
    expect(plan.phases.map((p) => `${p.op} ${p.map}`)).toEqual([
      'set backends',
      'write slots',
      'set frontends',
      'delete slots',
      'delete backends',
      'destroy sockets',
    ]); // no affinity: no prune
    const slots = plan.phases.find((p) => p.op === 'write' && p.map === 'slots');
    expect(slots && 'runs' in slots && slotRunEntries(slots.runs).map(([k]) => [k.setId, k.gen, k.slot])).toEqual([
      [setA, 1, 1],
      [setA, 1, 2],
    ]);
    plan.commit(state);
    expect(state.sets.get(setA!)?.members).toEqual(edit.desired.sets.get(setA!));
    // Memory: the desired and the current backends stay columns (no object per backend) after a
    // partial compile and its commit, as after a full sync.
    const kept = [...edit.desired.backends].find(([, be]) => be.addr === '10.244.0.1');
    expect(kept).toBeDefined();
    expect(state.backends.get(kept![0])).toEqual(kept![1]);
    expect(state.backends).toBeInstanceOf(BackendTable);
    expect(edit.desired.backends).toBeInstanceOf(BackendTable);
  });

  it('prunes affinity between the frontend flip and the backend deletes, when a sticky set loses a member', () => {
    const tracker = new ModelTracker();
    const slice = (...addrs: string[]) => ({
      kind: 'EndpointSlice',
      addressType: 'IPv4',
      metadata: { name: 'a-1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'a' } },
      ports: [{ name: 'http', port: 8080 }],
      endpoints: addrs.map((a) => ({ addresses: [a], conditions: { ready: true } })),
    });
    const service = {
      kind: 'Service',
      metadata: { name: 'a', namespace: 'default' },
      spec: {
        clusterIP: '10.96.0.1',
        sessionAffinity: 'ClientIP',
        ports: [{ name: 'http', port: 80, targetPort: 8080 }],
      },
    };
    tracker.rebuild({
      services: [{ object: service, origin: 't' }],
      endpointSlices: [{ object: slice('10.244.0.1', '10.244.0.2'), origin: 't' }],
      nodes: [],
      errors: [],
    });
    const inc = new IncrementalCompiler(new IdAllocator());
    const state = planWrites(emptyState(), inc.full(tracker.model, NODE)).next;
    const changed = tracker.apply({ kind: 'endpointSlices', key: 'default/a-1' }, slice('10.244.0.1'), 't');
    const edit = inc.update(tracker.model, NODE, changed.services);
    // While the prune runs, the leaving backend still exists, so the data path keeps (not
    // rewrites) an entry naming it, and the prune cannot delete a fresh pick (PruneAffinityPhase).
    expect(planScoped(state, edit.desired, edit.scope).phases.map((p) => `${p.op} ${p.map}`)).toEqual([
      'write slots',
      'set frontends',
      'prune affinity',
      'delete slots',
      'delete backends',
      'destroy sockets',
    ]);
  });
});
