import { describe, expect, it } from 'vitest';
import type { DesiredState } from '../../src/compile/index.js';
import { emptyState, planWrites, setsLostMembers, stateFromMaps, type CurrentState } from '../../src/dataplane/plan.js';
import type { Backend, FrontendKey } from '../../src/abi/index.js';

const vip: FrontendKey = { addr: '10.96.0.10', port: 80, proto: 6, scope: 0 };
const be = (n: number): Backend => ({ addr: `10.244.0.${n}`, port: 8080, flags: 0 });

function desired(members: number[], extra: Partial<DesiredState> = {}): DesiredState {
  return {
    frontends: [{ key: vip, svcId: 1, setId: 7, affinityTimeout: 0, flags: 0 }],
    sets: new Map([[7, members]]),
    backends: new Map(members.map((id) => [id, be(id)])),
    services: new Map(),
    healthCheck: [],
    ...extra,
  } as DesiredState;
}

function apply(state: CurrentState, d: DesiredState): { state: CurrentState; plan: ReturnType<typeof planWrites> } {
  const plan = planWrites(state, d);
  return { state: plan.next, plan };
}

describe('planWrites', () => {
  it('writes a new service as backends, slots of generation 0, then the frontend', () => {
    const { plan } = apply(emptyState(), desired([1, 2, 3]));
    expect(plan.upsertBackends.map(([id]) => id)).toEqual([1, 2, 3]);
    expect(plan.writeSlots).toEqual([
      [{ setId: 7, slot: 1, gen: 0 }, 1], [{ setId: 7, slot: 2, gen: 0 }, 2], [{ setId: 7, slot: 3, gen: 0 }, 3],
    ]);
    expect(plan.upsertFrontends).toEqual([[vip, { svcId: 1, setId: 7, affinityTimeout: 0, count: 3, gen: 0, flags: 0 }]]);
    expect(plan.deleteFrontends.length + plan.deleteSlots.length + plan.deleteBackends.length).toBe(0);
  });

  it('swaps a changed backend set under the other generation and deletes the old one after the flip', () => {
    const first = apply(emptyState(), desired([1, 2, 3])).state;
    const { plan } = apply(first, desired([1, 3]));
    expect(plan.writeSlots).toEqual([[{ setId: 7, slot: 1, gen: 1 }, 1], [{ setId: 7, slot: 2, gen: 1 }, 3]]);
    expect(plan.upsertFrontends[0][1]).toMatchObject({ count: 2, gen: 1 });
    expect(plan.deleteSlots).toEqual([{ setId: 7, slot: 1, gen: 0 }, { setId: 7, slot: 2, gen: 0 }, { setId: 7, slot: 3, gen: 0 }]);
    expect(plan.deleteBackends).toEqual([2]);
    expect(plan.upsertBackends).toEqual([]);
  });

  it('writes nothing when nothing changed', () => {
    const first = apply(emptyState(), desired([1, 2])).state;
    const { plan } = apply(first, desired([1, 2]));
    expect([plan.upsertBackends, plan.writeSlots, plan.upsertFrontends, plan.deleteFrontends, plan.deleteSlots, plan.deleteBackends].flat()).toEqual([]);
  });

  it('removes a deleted service frontend first, then its slots and backends', () => {
    const first = apply(emptyState(), desired([1])).state;
    const { plan } = apply(first, { frontends: [], sets: new Map(), backends: new Map(), services: new Map(), healthCheck: [] } as unknown as DesiredState);
    expect(plan.deleteFrontends).toEqual([vip]);
    expect(plan.deleteSlots).toEqual([{ setId: 7, slot: 1, gen: 0 }]);
    expect(plan.deleteBackends).toEqual([1]);
  });

  it('keeps a service with no endpoints as a frontend with count 0 (so the data path rejects)', () => {
    const { plan } = apply(emptyState(), desired([]));
    expect(plan.upsertFrontends[0][1]).toMatchObject({ count: 0 });
  });

  it('rebuilds its view from the maps after a restart, so an unchanged world writes nothing', () => {
    const first = apply(emptyState(), desired([4, 5])).state;
    const restored = stateFromMaps(
      [...first.frontends.values()].map((f) => [f.key, f.value]),
      [...first.slotKeys.values()].map((k) => [k, k.slot === 1 ? 4 : 5]),
      [...first.backends],
    );
    const { plan } = apply(restored, desired([4, 5]));
    expect(plan.writeSlots.length + plan.upsertFrontends.length + plan.deleteSlots.length).toBe(0);
  });

  it('rewrites a set torn by a crash (a slot missing) whole, under the other generation', () => {
    const first = apply(emptyState(), desired([4, 5])).state;
    const torn = stateFromMaps([...first.frontends.values()].map((f) => [f.key, f.value]), [[{ setId: 7, slot: 1, gen: 0 }, 4]], [...first.backends]);
    const { plan } = apply(torn, desired([4, 5]));
    expect(plan.writeSlots.map(([k]) => k.gen)).toEqual([1, 1]);
    expect(plan.upsertFrontends[0][1]).toMatchObject({ gen: 1, count: 2 });
  });

  it('says when a set lost a member or went away (when stale affinity is possible), not on growth', () => {
    const two = apply(emptyState(), desired([1, 2])).state;
    expect(setsLostMembers(two, apply(two, desired([1, 2, 3])).state)).toBe(false);
    expect(setsLostMembers(two, apply(two, desired([1, 2])).state)).toBe(false);
    expect(setsLostMembers(two, apply(two, desired([2, 3])).state)).toBe(true);
    expect(setsLostMembers(two, emptyState())).toBe(true);
  });
});
