// `switchyard explain` over map contents (src/explain/explain.ts): matching what the user types,
// the set in slot order, backend states, and drift when the maps are not consistent.
import { describe, expect, it } from 'vitest';
import { BE_LOCAL, FE_NODEPORT, IPPROTO_TCP, SCOPE_EXTERNAL, SCOPE_INTERNAL } from '../../src/abi/index.js';
import { explain, matches } from '../../src/explain/explain.js';
import type { MapContents } from '../../src/inspect/views.js';

function contents(): MapContents {
  return {
    frontends: [
      [
        { addr: '10.96.0.20', port: 80, proto: IPPROTO_TCP, scope: SCOPE_INTERNAL },
        { svcId: 1, setId: 1, affinityTimeout: 0, count: 2, gen: 1, flags: 0 },
      ],
      [
        { addr: '10.250.0.11', port: 30080, proto: IPPROTO_TCP, scope: SCOPE_EXTERNAL },
        { svcId: 1, setId: 1, affinityTimeout: 0, count: 2, gen: 1, flags: FE_NODEPORT },
      ],
    ],
    slots: [
      [{ setId: 1, slot: 1, gen: 1 }, 7],
      [{ setId: 1, slot: 2, gen: 1 }, 8],
      [{ setId: 1, slot: 1, gen: 0 }, 6], // the previous generation: backend 6 drains
    ],
    backends: [
      [6, { addr: '10.244.1.5', port: 8080, flags: 0 }],
      [7, { addr: '10.244.1.6', port: 8080, flags: BE_LOCAL }],
      [8, { addr: '10.244.2.6', port: 8080, flags: 0 }],
    ],
    conntrack: [],
    affinity: [],
    stats: new Map([[1, { packets: 10n, bytes: 900n, newFlows: 3n, noBackend: 1n }]]),
    services: new Map([[1, { name: 'default/web:http/TCP', type: 'NodePort' }]]),
    nowNs: 10n ** 12n,
  };
}

describe('explain', () => {
  it('matches NAME, NAMESPACE/NAME and :PORT by name or number', () => {
    expect(matches('default/web:http/TCP', 'web')).toBe(true);
    expect(matches('default/web:http/TCP', 'default/web:http')).toBe(true);
    expect(matches('default/web:http/TCP', 'prod/web')).toBe(false);
    expect(matches('default/web:http/TCP', 'web:https')).toBe(false);
    expect(explain(contents(), 'web:80').map((e) => e.svcId)).toEqual([1]);
    expect(explain(contents(), 'web:81')).toEqual([]);
  });

  it('shows frontends by scope, the set in slot order, active and draining backends, counters; no drift', () => {
    const [e] = explain(contents(), 'web');
    expect(e.frontends.map((f) => [f.scope, f.address, f.flags])).toEqual([
      ['internal', '10.96.0.20:80', []],
      ['external', '10.250.0.11:30080', ['nodeport']],
    ]);
    expect(e.set).toEqual({
      id: 1,
      gen: 1,
      count: 2,
      slots: [
        { slot: 1, backendId: 7, backend: '10.244.1.6:8080', local: true },
        { slot: 2, backendId: 8, backend: '10.244.2.6:8080', local: false },
      ],
    });
    expect(e.backends.map((b) => [b.id, b.node, b.state])).toEqual([
      [6, 'remote', 'draining'],
      [7, 'local', 'active'],
      [8, 'remote', 'active'],
    ]);
    expect(e.counters).toEqual({ packets: 10, bytes: 900, newConnections: 3, noEndpointRejects: 1 });
    expect(e.drift).toEqual([]);
  });

  it('reports drift: a missing slot, a slot naming a missing backend, frontends that disagree', () => {
    const m = contents();
    m.slots = m.slots.filter(([k]) => !(k.slot === 2 && k.gen === 1));
    m.backends = m.backends.filter(([id]) => id !== 7);
    m.frontends[1][1] = { ...m.frontends[1][1], gen: 0 };
    const [e] = explain(m, 'web');
    expect(e.drift).toHaveLength(3);
    expect(e.drift[0]).toMatch(/^frontend 10\.250\.0\.11:30080\/TCP \(external\) points at set 1 gen 0/);
    expect(e.drift[1]).toMatch(/^slot 1 of set 1 gen 1 names backend 7, which is not in the backends map/);
    expect(e.drift[2]).toMatch(/^slot 2 of set 1 gen 1 is missing/);
  });
});
