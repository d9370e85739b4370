// Admission against map capacity (src/dataplane/capacity.ts), on full and partial plans: ports
// that do not fit are skipped by name and map; programmed ones are never given up.
import { describe, expect, it } from 'vitest';
import { IdAllocator, IncrementalCompiler, type NodeConfig } from '../../src/compile/index.js';
import { ModelTracker } from '../../src/model/tracker.js';
import { emptyState, planWrites } from '../../src/dataplane/plan.js';
import { planScoped } from '../../src/dataplane/plan-scoped.js';
import { admit, admitAll, portsOf, scopeWithout, withoutPorts } from '../../src/dataplane/capacity.js';

const NODE: NodeConfig = { nodeName: 'node1', nodePortAddresses: [] };
const svc = (name: string, n: number) => ({
  kind: 'Service',
  metadata: { name, namespace: 'default' },
  spec: { clusterIP: `10.96.0.${n}`, ports: [{ name: 'http', port: 80, targetPort: 80 }] },
});
const slice = (name: string, count: number) => ({
  kind: 'EndpointSlice',
  addressType: 'IPv4',
  metadata: { name: `${name}-1`, namespace: 'default', labels: { 'kubernetes.io/service-name': name } },
  ports: [{ name: 'http', port: 80 }],
  endpoints: Array.from({ length: count }, (_, i) => ({
    addresses: [`10.244.${name.charCodeAt(0) % 200}.${i + 1}`],
    conditions: { ready: true },
  })),
});
const of = (...objects: Array<Record<string, unknown>>) => objects.map((object) => ({ object, origin: 't' }));

describe('admission against map capacity', () => {
  it('skips the new ports that do not fit, in svc id order, naming the port and the map', () => {
    const tracker = new ModelTracker();
    tracker.rebuild({
      services: of(svc('a', 1), svc('b', 2), svc('c', 3)),
      endpointSlices: of(slice('a', 3), slice('b', 3), slice('c', 1)),
      nodes: [],
      errors: [],
    });
    const desired = new IncrementalCompiler(new IdAllocator()).full(tracker.model, NODE);
    const skipped = admit(emptyState(), desired, portsOf(desired.frontends, desired.services.keys()), {
      frontends: 10,
      backends: 10,
      slots: 5,
    });
    expect(skipped.map((s) => s.message)).toEqual([
      "service port default/b:http/TCP not programmed: map 'slots' is full (max 5 entries, 3 in use or planned, this port needs 3)",
    ]);
    expect(admitAll(emptyState(), desired, { frontends: 10, backends: 10, slots: 5 })).toEqual(skipped);
    expect(admitAll(emptyState(), desired, { frontends: 3, backends: 7, slots: 7 })).toEqual([]);
    expect(admitAll(emptyState(), desired, { frontends: 2, backends: 7, slots: 7 }).map((s) => s.map)).toEqual([
      'frontends',
    ]);
    const next = planWrites(emptyState(), withoutPorts(desired, skipped)).next;
    expect([...next.serviceInfo.values()].map((i) => i.name).sort()).toEqual([
      'default/a:http/TCP',
      'default/c:http/TCP',
    ]);
  });

  it("on a partial sync, admits a programmed port's growth first and skips only the newcomer", () => {
    const tracker = new ModelTracker();
    tracker.rebuild({ services: of(svc('a', 1)), endpointSlices: of(slice('a', 2)), nodes: [], errors: [] });
    const inc = new IncrementalCompiler(new IdAllocator());
    const state = planWrites(emptyState(), inc.full(tracker.model, NODE)).next;
    const dirty = [
      ...tracker.apply({ kind: 'endpointSlices', key: 'default/a-1' }, slice('a', 3), 't').services,
      ...tracker.apply({ kind: 'services', key: 'default/b' }, svc('b', 2), 't').services,
      ...tracker.apply({ kind: 'endpointSlices', key: 'default/b-1' }, slice('b', 1), 't').services,
    ];
    const { desired, scope } = inc.update(tracker.model, NODE, dirty);
    const ports = portsOf(
      [...scope.frontends.values()].filter((f) => f !== undefined),
      scope.services,
    );
    // a: 2 slots now, 3 new ones while its generation flips (5); b would need 1 more.
    const skipped = admit(state, desired, ports, { frontends: 10, backends: 10, slots: 5 });
    expect(skipped.map((s) => `${s.servicePort} ${s.map}`)).toEqual(['default/b:http/TCP slots']);
    planScoped(state, desired, scopeWithout(scope, desired, skipped)).commit(state);
    expect([...state.serviceInfo.values()].map((i) => i.name)).toEqual(['default/a:http/TCP']);
    expect([...state.sets.values()].map((s) => s.members.length)).toEqual([3]);
    expect(state.frontends.size).toBe(1);
  });
});
