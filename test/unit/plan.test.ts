// The write plan for whole scenarios: real objects through the real model and compile, then the
// full sequence of phases planWrites() lays out, read as lines (test/lib/mapdump.ts).
import { describe, expect, it } from 'vitest';
import { compile, IdAllocator, type DesiredState, type NodeConfig } from '../../src/compile/index.js';
import { buildModel } from '../../src/model/index.js';
import {
  emptyState,
  goneEndpoints,
  planWrites,
  setsLostMembers,
  slotKeyNumber,
  slotKeyOf,
  type CurrentState,
} from '../../src/dataplane/plan.js';
import { stateFromMaps } from '../../src/dataplane/state-read.js';
import { phaseLines } from '../lib/mapdump.js';

type Obj = Record<string, unknown>;
const NODE: NodeConfig = { nodeName: 'node1', nodePortAddresses: ['10.250.0.11'], snatAddress: '10.250.0.11' };

/** LoadBalancer default/web: ClusterIP 10.96.0.10, port http 80 → 8080, nodePort 30080, LB IP 198.51.100.7. */
const web = (ranges: string[]): Obj => ({
  kind: 'Service',
  metadata: { name: 'web', namespace: 'default' },
  spec: {
    type: 'LoadBalancer',
    clusterIP: '10.96.0.10',
    loadBalancerSourceRanges: ranges,
    ports: [{ name: 'http', port: 80, targetPort: 8080, nodePort: 30080 }],
  },
  status: { loadBalancer: { ingress: [{ ip: '198.51.100.7' }] } },
});
const endpoint = (addr: string, nodeName: string, ready = true) => ({
  addresses: [addr],
  conditions: { ready },
  nodeName,
});
const slice = (...endpoints: Obj[]): Obj => ({
  kind: 'EndpointSlice',
  metadata: { name: 'web-1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } },
  addressType: 'IPv4',
  ports: [{ name: 'http', port: 8080 }],
  endpoints,
});

/** Compiles the objects with one allocator across steps, as the agent does. */
function compiler(): (objects: Obj[]) => DesiredState {
  const ids = new IdAllocator();
  return (objects) => {
    const of = (kind: string) =>
      objects.filter((o) => o.kind === kind).map((object) => ({ object, origin: 'plan.test' }));
    const { model, errors } = buildModel({
      services: of('Service'),
      endpointSlices: of('EndpointSlice'),
      nodes: [],
      errors: [],
    });
    expect(errors).toEqual([]);
    return compile(model, NODE, ids);
  };
}

/** Plans `desired` against `state`; the phases as lines, and the state after. */
function step(state: CurrentState, desired: DesiredState): { phases: string[][]; next: CurrentState } {
  const plan = planWrites(state, desired);
  return { phases: plan.phases.map(phaseLines), next: plan.next };
}

/** compile's order: address, port, protocol, then scope (internal 0 before external 1). */
const FRONTENDS = (count: number, gen: number) => [
  `frontend 10.96.0.10:80/TCP internal → svc 1 set 1 count ${count} gen ${gen} affinity 0 flags -`,
  `frontend 10.250.0.11:30080/TCP internal → svc 1 set 1 count ${count} gen ${gen} affinity 0 flags nodeport`,
  `frontend 10.250.0.11:30080/TCP external → svc 1 set 1 count ${count} gen ${gen} affinity 0 flags nodeport`,
  `frontend 198.51.100.7:80/TCP internal → svc 1 set 1 count ${count} gen ${gen} affinity 0 flags nodeport,source-ranges`,
  `frontend 198.51.100.7:80/TCP external → svc 1 set 1 count ${count} gen ${gen} affinity 0 flags nodeport,source-ranges`,
];

describe('planWrites: every write, in the hitless order', () => {
  it('creates, edits and deletes a LoadBalancer with source ranges, phase by phase', () => {
    const desired = compiler();
    const created = step(
      emptyState(),
      desired([web(['203.0.113.0/24']), slice(endpoint('10.244.1.11', 'node1'), endpoint('10.244.2.12', 'node2'))]),
    );
    expect(created.phases).toEqual([
      ['set config', 'config 0 → snat 10.250.0.11'],
      ['write backends', 'backend 1 → 10.244.1.11:8080 flags local', 'backend 2 → 10.244.2.12:8080 flags -'],
      ['write slots', 'slot set 1 gen 0 #1 → backend 1', 'slot set 1 gen 0 #2 → backend 2'],
      ['set sourceRanges', 'source_range svc 1 203.0.113.0/24'],
      ['reset stats', 'stats 1 → 0'],
      ['set frontends', ...FRONTENDS(2, 0)],
      ['set serviceInfo', 'service_info 1 → default/web:http/TCP LoadBalancer'],
    ]);

    // One endpoint stops being ready and the ranges change: the set is rewritten under gen 1, the
    // new range goes in before the flip, the old one and the old generation go after it.
    const edited = step(
      created.next,
      desired([
        web(['192.0.2.0/24']),
        slice(endpoint('10.244.1.11', 'node1'), endpoint('10.244.2.12', 'node2', false)),
      ]),
    );
    expect(edited.phases).toEqual([
      ['write slots', 'slot set 1 gen 1 #1 → backend 1'],
      ['set sourceRanges', 'source_range svc 1 192.0.2.0/24'],
      ['set frontends', ...FRONTENDS(1, 1)],
      // After the flip, while backend 2 still exists: the data path keeps an entry naming it
      // rather than rewriting it under the prune (PruneAffinityPhase).
      ['prune affinity', 'set 1 keeps 1'],
      ['delete sourceRanges', 'source_range svc 1 203.0.113.0/24'],
      ['delete slots', 'slot set 1 gen 0 #1', 'slot set 1 gen 0 #2'],
      ['delete backends', 'backend 2'],
      // The endpoint left every Service: connected UDP sockets to it go too (socket LB).
      ['destroy sockets', 'udp connected to 10.244.2.12:8080'],
    ]);

    // Deleted: frontends first, then what only they used.
    const deleted = step(edited.next, desired([]));
    expect(deleted.phases).toEqual([
      ['delete frontends', ...FRONTENDS(1, 1).map((l) => l.replace(/ →.*/, ''))],
      ['prune affinity'],
      ['delete sourceRanges', 'source_range svc 1 192.0.2.0/24'],
      ['delete slots', 'slot set 1 gen 1 #1'],
      ['delete backends', 'backend 1'],
      ['destroy sockets', 'udp connected to 10.244.1.11:8080'],
      ['delete serviceInfo', 'service_info 1'],
    ]);
    expect(step(deleted.next, desired([])).phases).toEqual([]);
  });

  it('writes nothing when nothing changed, and keeps a Service without endpoints as a count-0 frontend', () => {
    const desired = compiler();
    const objects = [web([]), slice()];
    const first = step(emptyState(), desired(objects));
    expect(first.phases.find(([h]) => h === 'set frontends')?.[1]).toBe(
      'frontend 10.96.0.10:80/TCP internal → svc 1 set 1 count 0 gen 0 affinity 0 flags -',
    );
    expect(first.phases.map(([h]) => h)).toEqual(['set config', 'reset stats', 'set frontends', 'set serviceInfo']);
    expect(step(first.next, desired(objects)).phases).toEqual([]);
  });

  it('rebuilds its view from the maps after a restart, so an unchanged world writes nothing', () => {
    const desired = compiler();
    const objects = [
      web(['203.0.113.0/24']),
      slice(endpoint('10.244.1.11', 'node1'), endpoint('10.244.2.12', 'node2')),
    ];
    const first = step(emptyState(), desired(objects)).next;
    const restored = stateFromMaps(
      [...first.frontends.values()].map((f) => [f.key, f.value]),
      [...first.sets].flatMap(([setId, { gen, members }]) =>
        members.map((id, i): [{ setId: number; slot: number; gen: number }, number] => [
          { setId, slot: i + 1, gen },
          id,
        ]),
      ),
      [...first.backends],
      {
        sourceRanges: [...first.sourceRanges.values()].map((k) => [k, 1]),
        serviceInfo: [...first.serviceInfo],
        config: first.config,
      },
    );
    expect(step(restored, desired(objects)).phases).toEqual([]);
  });

  it('rewrites a set torn by a crash (a slot missing) whole, under the other generation', () => {
    const desired = compiler();
    const objects = [web([]), slice(endpoint('10.244.1.11', 'node1'), endpoint('10.244.2.12', 'node2'))];
    const first = step(emptyState(), desired(objects)).next;
    const torn = stateFromMaps(
      [...first.frontends.values()].map((f) => [f.key, f.value]),
      [[{ setId: 1, slot: 1, gen: 0 }, 1]],
      [...first.backends],
      { serviceInfo: [...first.serviceInfo], config: first.config },
    );
    const again = step(torn, desired(objects)).phases;
    expect(again.map(([h]) => h)).toEqual(['write slots', 'set frontends', 'delete slots']);
    expect(again[0]).toEqual(['write slots', 'slot set 1 gen 1 #1 → backend 1', 'slot set 1 gen 1 #2 → backend 2']);
    expect(again[1].slice(1).every((l) => l.includes('count 2 gen 1'))).toBe(true);
  });

  it('says when a set lost a member or went away (when stale affinity is possible), not on growth', () => {
    const desired = compiler();
    const eps = (...addrs: string[]) => [web([]), slice(...addrs.map((a) => endpoint(a, 'node1')))];
    const two = step(emptyState(), desired(eps('10.244.1.1', '10.244.1.2'))).next;
    expect(setsLostMembers(two, step(two, desired(eps('10.244.1.1', '10.244.1.2', '10.244.1.3'))).next)).toBe(false);
    expect(setsLostMembers(two, step(two, desired(eps('10.244.1.1', '10.244.1.2'))).next)).toBe(false);
    expect(setsLostMembers(two, step(two, desired(eps('10.244.1.2', '10.244.1.3'))).next)).toBe(true);
    expect(setsLostMembers(two, emptyState())).toBe(true);
  });
});

describe('goneEndpoints', () => {
  const be = (addr: string, port: number) => ({ addr, port }) as unknown as import('../../src/abi/index.js').Backend;
  const before = new Map([
    [1, be('10.244.1.11', 8080)],
    [2, be('10.244.1.12', 8080)],
    [3, be('10.244.1.12', 9090)],
    [4, be('10.244.1.11', 8080)],
  ]);

  it('names a removed endpoint only when no remaining backend (of any Service) still has it', () => {
    // 1 and 2 removed; 4 (another Service's backend) keeps 10.244.1.11:8080, and 3 shares only
    // the address of 2, not its port.
    const after = [before.get(3)!, before.get(4)!];
    expect(goneEndpoints(before, [1, 2], after)).toEqual([{ addr: '10.244.1.12', port: 8080 }]);
    expect(goneEndpoints(before, [1, 2, 4], [before.get(3)!])).toEqual([
      { addr: '10.244.1.11', port: 8080 },
      { addr: '10.244.1.12', port: 8080 },
    ]);
  });

  it('reads nothing when nothing was removed', () => {
    const after = {
      [Symbol.iterator]: () => {
        throw new Error('walked the backends');
      },
    };
    expect(goneEndpoints(before, [], after)).toEqual([]);
  });
});

describe('slotKeyNumber', () => {
  it('is one exact number per slot key, up to the largest set id, generation and slot', () => {
    const keys = [
      { setId: 1, gen: 0, slot: 1 },
      { setId: 1, gen: 1, slot: 1 },
      { setId: 2, gen: 0, slot: 1 },
      { setId: 0xffffffff, gen: 1, slot: 0xffff },
      { setId: 0xffffffff, gen: 0, slot: 0xffff },
    ];
    const numbers = keys.map(slotKeyNumber);
    expect(new Set(numbers).size).toBe(keys.length);
    expect(numbers.every(Number.isSafeInteger)).toBe(true);
    expect(numbers.map(slotKeyOf)).toEqual(keys);
  });
});
