import { describe, expect, it } from 'vitest';
import { affinityView, backendsView, conntrackView, servicesView, type MapContents } from '../../src/inspect/views.js';

const SEC = 1_000_000_000n;

function maps(): MapContents {
  return {
    frontends: [
      [
        { addr: '10.96.0.10', port: 80, proto: 6, scope: 0 },
        { svcId: 1, setId: 1, affinityTimeout: 30, count: 2, gen: 1, flags: 0 },
      ],
      [
        { addr: '10.96.0.20', port: 53, proto: 17, scope: 0 },
        { svcId: 2, setId: 2, affinityTimeout: 0, count: 0, gen: 0, flags: 0 },
      ],
    ],
    // gen 0 of set 1 is a leftover generation: it must not show.
    slots: [
      [{ setId: 1, slot: 1, gen: 1 }, 11],
      [{ setId: 1, slot: 2, gen: 1 }, 12],
      [{ setId: 1, slot: 1, gen: 0 }, 13],
    ],
    backends: [
      [11, { addr: '10.244.0.11', port: 8080, flags: 1 }],
      [12, { addr: '10.244.0.12', port: 8080, flags: 0 }],
      [13, { addr: '10.244.0.13', port: 8080, flags: 0 }],
    ],
    conntrack: [
      [
        { saddr: '10.244.0.50', daddr: '10.96.0.10', sport: 40000, dport: 80, proto: 6, dir: 0 },
        {
          lastSeenNs: 90n * SEC,
          nat: { saddr: '0.0.0.0', daddr: '10.244.0.11', sport: 0, dport: 8080 },
          backendId: 11,
          svcId: 1,
          flags: 1,
        },
      ],
    ],
    affinity: [
      [
        { setId: 1, clientAddr: '10.244.0.50' },
        { lastUsedNs: 95n * SEC, backendId: 12 },
      ],
      [
        { setId: 1, clientAddr: '10.244.0.51' },
        { lastUsedNs: 10n * SEC, backendId: 12 },
      ],
    ],
    stats: new Map([
      [1, { packets: 10n, bytes: 900n, newFlows: 3n, noBackend: 0n }],
      [2, { packets: 0n, bytes: 0n, newFlows: 0n, noBackend: 4n }],
    ]),
    services: new Map([[1, { name: 'default/web:http/TCP', type: 'ClusterIP' }]]),
    nowNs: 100n * SEC,
  };
}

describe('inspect views', () => {
  it('lists each service with its frontends, active backends and counters', () => {
    const [web, unnamed] = servicesView(maps());
    expect(web).toMatchObject({
      service: 'default/web:http/TCP',
      frontends: ['10.96.0.10:80/TCP'],
      affinityTimeoutSeconds: 30,
      newConnections: 3,
      backends: [
        { id: 11, address: '10.244.0.11:8080', local: true },
        { id: 12, address: '10.244.0.12:8080', local: false },
      ],
    });
    expect(unnamed).toMatchObject({
      service: 'svc#2',
      frontends: ['10.96.0.20:53/UDP'],
      backends: [],
      noEndpointRejects: 4,
    });
  });

  it('shows IPv6 frontends and backends canonical, as [addr]:port', () => {
    const m = maps();
    m.frontends.push([
      { addr: 'fd00::a', port: 80, proto: 6, scope: 0 },
      { svcId: 1, setId: 4, affinityTimeout: 30, count: 1, gen: 0, flags: 0 },
    ]);
    m.slots.push([{ setId: 4, slot: 1, gen: 0 }, 14]);
    m.backends.push([14, { addr: 'fd10:1::b', port: 8080, flags: 0 }]);
    const [web] = servicesView(m);
    expect(web!.frontends).toEqual(['10.96.0.10:80/TCP', '[fd00::a]:80/TCP']);
    expect(web!.backends.map((b) => b.address)).toContain('[fd10:1::b]:8080');
    expect(JSON.parse(JSON.stringify(servicesView(m)))[0].frontends[1]).toBe('[fd00::a]:80/TCP');
  });

  it('shows an IPv6 flow with its rewrite, leaving out the unset (::) side', () => {
    const m = maps();
    m.conntrack = [
      [
        { saddr: 'fd10:244:1::11', daddr: 'fd00:96::a', sport: 40000, dport: 80, proto: 6, dir: 0 },
        {
          lastSeenNs: 99n * SEC,
          nat: { saddr: '::', daddr: 'fd10:244:2::14', sport: 0, dport: 8080 },
          backendId: 14,
          svcId: 1,
          flags: 1,
        },
      ],
    ];
    const [row] = conntrackView(m);
    expect(row).toMatchObject({ tuple: '[fd10:244:1::11]:40000 → [fd00:96::a]:80' });
    expect(JSON.stringify(row)).toContain('dst→[fd10:244:2::14]:8080');
    expect(JSON.stringify(row)).not.toContain('src→');
  });

  it('shows an address answering in both scopes once, marked when outside traffic is Local', () => {
    const m = maps();
    m.frontends.push(
      [
        { addr: '10.250.0.11', port: 30080, proto: 6, scope: 0 },
        { svcId: 1, setId: 1, affinityTimeout: 30, count: 2, gen: 1, flags: 1 },
      ],
      [
        { addr: '10.250.0.11', port: 30080, proto: 6, scope: 1 },
        { svcId: 1, setId: 3, affinityTimeout: 30, count: 0, gen: 0, flags: 3 },
      ],
    );
    expect(servicesView(m)[0].frontends).toEqual(['10.96.0.10:80/TCP', '10.250.0.11:30080/TCP (Local)']);
  });

  it("shows a Maglev service's distinct backends from its table, not from slots", () => {
    const m = maps();
    m.frontends = [
      [
        { addr: '10.96.0.30', port: 80, proto: 6, scope: 0 },
        { svcId: 1, setId: 5, affinityTimeout: 0, count: 5, gen: 0, flags: 8 },
      ],
    ];
    type Entry = [{ setId: number; slot: number; gen: number }, number];
    m.maglev = [12, 11, 12, 12, 11].map((id, i): Entry => [{ setId: 5, slot: i + 1, gen: 0 }, id]);
    m.maglev.push([{ setId: 5, slot: 1, gen: 1 }, 13]); // the other generation: not shown
    expect(servicesView(m)[0]!.backends.map((b) => b.id)).toEqual([11, 12]);
    expect(backendsView(m).map((b) => [b.id, b.state])).toEqual([
      [11, 'active'],
      [12, 'active'],
      [13, 'draining'],
    ]);
  });

  it('marks backends no active generation names as draining', () => {
    expect(backendsView(maps()).map((b) => [b.id, b.state])).toEqual([
      [11, 'active'],
      [12, 'active'],
      [13, 'draining'],
    ]);
  });

  it('shows conntrack entries with their rewrite and idle time', () => {
    expect(conntrackView(maps())[0]).toMatchObject({
      direction: 'forward',
      tuple: '10.244.0.50:40000 → 10.96.0.10:80',
      translation: 'dst→10.244.0.11:8080',
      service: 'default/web:http/TCP',
      ageSeconds: 10,
      flags: ['replied'],
    });
  });

  it('tells a half-closed flow (one FIN) from a closing one', () => {
    const m = maps();
    m.conntrack[0][1].flags = 1 | (1 << 4);
    expect(conntrackView(m)[0].flags).toEqual(['replied', 'half-closed']);
    m.conntrack[0][1].flags = 1 | (1 << 4) | (1 << 5) | 2;
    expect(conntrackView(m)[0].flags).toEqual(['replied', 'closing']);
  });

  it('shows affinity time left, and expired entries as such', () => {
    expect(affinityView(maps()).map((a) => [a.client, a.backend, a.secondsLeft, a.expired])).toEqual([
      ['10.244.0.50', '10.244.0.12:8080', 25, false],
      ['10.244.0.51', '10.244.0.12:8080', 0, true],
    ]);
  });
});

describe('inspect views right after boot', () => {
  it('never shows a negative age, and treats an entry stamped far ahead as expired, as the data path does', () => {
    const m = maps();
    m.nowNs = 2n * SEC; // up for two seconds
    m.conntrack[0][1].lastSeenNs = 2n * SEC + SEC / 2n; // another CPU's stamp, a little ahead
    m.affinity[0][1].lastUsedNs = 2n * SEC + SEC / 2n;
    m.affinity[1][1].lastUsedNs = 3600n * SEC; // an hour ahead: not from this boot
    expect(conntrackView(m)[0].ageSeconds).toBe(0);
    expect(affinityView(m).map((a) => [a.client, a.secondsLeft, a.expired])).toEqual([
      ['10.244.0.50', 30, false],
      ['10.244.0.51', 0, true],
    ]);
  });
});
