// Maglev through compile and plan: which Services get tables, how they are written and flipped.
import { describe, expect, it } from 'vitest';
import { FE_MAGLEV, type SlotKey } from '../../src/abi/index.js';
import { compile, IdAllocator, type DesiredState, type NodeConfig } from '../../src/compile/index.js';
import { emptyState, planWrites } from '../../src/dataplane/plan.js';
import type { Phase } from '../../src/dataplane/phases.js';
import { slotRunEntries } from '../../src/dataplane/slot-runs.js';
import { stateFromMaps } from '../../src/dataplane/state-read.js';
import { buildModel } from '../../src/model/index.js';

type Obj = Record<string, unknown>;
const NODE: NodeConfig = { nodeName: 'node-a', nodePortAddresses: ['172.16.0.12'], maglevTableSize: 101 };

function objects(annotations: Record<string, string>, addrs: string[]): { services: Obj[]; slices: Obj[] } {
  return {
    services: [
      {
        kind: 'Service',
        metadata: { name: 'web', annotations },
        spec: { clusterIP: '10.96.0.10', ports: [{ port: 80 }] },
      },
    ],
    slices: [
      {
        kind: 'EndpointSlice',
        metadata: { name: 'web-1', labels: { 'kubernetes.io/service-name': 'web' } },
        addressType: 'IPv4',
        ports: [{ port: 80 }],
        endpoints: addrs.map((a) => ({ addresses: [a], nodeName: 'node-b' })),
      },
    ],
  };
}

function run(annotations: Record<string, string>, addrs: string[], node = NODE, ids = new IdAllocator()) {
  const { services, slices } = objects(annotations, addrs);
  const wrap = (objs: Obj[]) => objs.map((object) => ({ object, origin: 'web.yaml' }));
  const { model, errors } = buildModel({
    services: wrap(services),
    endpointSlices: wrap(slices),
    nodes: [],
    errors: [],
  });
  return { d: compile(model, node, ids), errors: errors.map((e) => e.describe()), ids };
}

/** The backend addresses a set's table maps to, entry by entry. */
const tableAddrs = (d: DesiredState, setId: number) => d.sets.get(setId)!.map((id) => d.backends.get(id)!.addr);
const ADDRS = ['10.244.1.1', '10.244.1.2', '10.244.1.3'];

describe('compile: lb-algorithm', () => {
  it('random by default: one slot per backend, no Maglev flag', () => {
    const { d } = run({}, ADDRS);
    expect(d.sets.get(1)).toEqual([1, 2, 3]);
    expect(d.frontends[0]!.flags & FE_MAGLEV).toBe(0);
    expect(d.maglev).toBeUndefined();
  });

  for (const key of ['switchyard.io/lb-algorithm', 'service.cilium.io/lb-algorithm']) {
    it(`${key}: maglev gives the set a table of the configured size, and flags its frontends`, () => {
      const { d } = run({ [key]: 'maglev' }, ADDRS);
      const table = d.sets.get(1)!;
      expect(table).toHaveLength(101);
      expect(new Set(table)).toEqual(new Set([1, 2, 3]));
      expect(d.frontends[0]!.flags & FE_MAGLEV).toBe(FE_MAGLEV);
      expect(d.services.get(1)!.lbAlgorithm).toBe('maglev');
      expect(d.maglev).toMatchObject({ sets: new Set([1]), entries: 101, bytes: 101 * 12 });
      expect(d.maglev!.buildMs).toBeGreaterThanOrEqual(0);
    });
  }

  it('the agent default applies to Services without the annotation; the annotation overrides it', () => {
    expect(run({}, ADDRS, { ...NODE, lbAlgorithm: 'maglev' }).d.sets.get(1)).toHaveLength(101);
    expect(
      run({ 'switchyard.io/lb-algorithm': 'random' }, ADDRS, { ...NODE, lbAlgorithm: 'maglev' }).d.sets.get(1),
    ).toEqual([1, 2, 3]);
  });

  it('maps entries to the same endpoints whatever the node-local backend ids', () => {
    const other = new IdAllocator();
    other.beginCompile();
    for (let i = 0; i < 5; i++) other.backendId(99, `10.9.9.${i}`, 1); // other ids on "another node"
    const a = run({ 'switchyard.io/lb-algorithm': 'maglev' }, ADDRS).d;
    const b = run({ 'switchyard.io/lb-algorithm': 'maglev' }, [...ADDRS].reverse(), NODE, other).d;
    const setOf = (d: DesiredState) => d.frontends[0]!.setId;
    expect(tableAddrs(b, setOf(b))).toEqual(tableAddrs(a, setOf(a)));
  });

  it('holds as desired backends only the endpoints its table names, when it has fewer entries than endpoints', () => {
    const addrs = Array.from({ length: 12 }, (_, i) => `10.244.9.${i + 1}`);
    const { d } = run({ 'switchyard.io/lb-algorithm': 'maglev' }, addrs, { ...NODE, maglevTableSize: 7 });
    const table = d.sets.get(d.frontends[0]!.setId)!;
    expect(table).toHaveLength(7);
    expect([...d.backends.keys()].sort((a, b) => a - b)).toEqual([...new Set(table)].sort((a, b) => a - b));
  });

  it('an empty Maglev set stays empty (count 0: reject)', () => {
    expect(run({ 'switchyard.io/lb-algorithm': 'maglev' }, []).d.sets.get(1)).toEqual([]);
  });

  it('rejects an unknown algorithm, naming the annotation', () => {
    expect(run({ 'switchyard.io/lb-algorithm': 'round-robin' }, ADDRS).errors).toEqual([
      'web.yaml: Service default/web: metadata.annotations[switchyard.io/lb-algorithm]: must be one of random, maglev (got "round-robin")',
    ]);
  });
});

const keysOf = (p: Phase | undefined) => (p && p.op === 'delete' ? (p.keys as SlotKey[]) : []);
const find = (phases: Phase[], op: string, map: string) => phases.find((p) => p.op === op && p.map === map);

describe('plan: Maglev tables', () => {
  it('writes the table to the maglev map under the other generation, then flips, then deletes the old one', () => {
    const first = planWrites(emptyState(), run({ 'switchyard.io/lb-algorithm': 'maglev' }, ADDRS).d);
    const order = first.phases.map((p) => `${p.op} ${p.map}`);
    expect(order.indexOf('write maglev')).toBeLessThan(order.indexOf('set frontends'));
    expect(order).not.toContain('write slots');
    const fe = [...first.next.frontends.values()][0]!.value;
    expect(fe).toMatchObject({ count: 101, gen: 0 });

    const second = planWrites(first.next, run({ 'switchyard.io/lb-algorithm': 'maglev' }, ADDRS.slice(0, 2)).d);
    const written = find(second.phases, 'write', 'maglev');
    expect(written && 'runs' in written ? slotRunEntries(written.runs).every(([k]) => k.gen === 1) : false).toBe(true);
    expect(keysOf(find(second.phases, 'delete', 'maglev'))).toHaveLength(101);
    expect(keysOf(find(second.phases, 'delete', 'maglev')).every((k) => k.gen === 0)).toBe(true);
    const order2 = second.phases.map((p) => `${p.op} ${p.map}`);
    expect(order2.indexOf('set frontends')).toBeLessThan(order2.indexOf('delete maglev'));
  });

  it('switching random → maglev moves the set from slots to maglev in one frontend flip', () => {
    const ids = new IdAllocator();
    const random = planWrites(emptyState(), run({}, ADDRS, NODE, ids).d);
    const next = planWrites(random.next, run({ 'switchyard.io/lb-algorithm': 'maglev' }, ADDRS, NODE, ids).d);
    expect(keysOf(find(next.phases, 'delete', 'slots'))).toHaveLength(3);
    expect([...next.next.frontends.values()][0]!.value).toMatchObject({ gen: 1, count: 101, flags: FE_MAGLEV });
  });

  it('reads tables back from the pinned maps, so an unchanged restart writes nothing', () => {
    const ids = new IdAllocator();
    const d = run({ 'switchyard.io/lb-algorithm': 'maglev' }, ADDRS, NODE, ids).d;
    const plan = planWrites(emptyState(), d);
    const entries = (map: string): never =>
      plan.phases.flatMap((p) =>
        p.map !== map
          ? []
          : p.op === 'set'
            ? (p.entries as unknown[])
            : p.op !== 'write'
              ? []
              : 'runs' in p
                ? slotRunEntries(p.runs)
                : p.ids.map((id) => [id, p.from.get(id)]),
      ) as never;
    const restored = stateFromMaps(entries('frontends'), [], entries('backends'), {
      maglev: entries('maglev'),
      serviceInfo: entries('serviceInfo'),
      config: d.config!,
    });
    expect(planWrites(restored, d).phases.filter((p) => p.op !== 'prune')).toEqual([]);
  });
});
