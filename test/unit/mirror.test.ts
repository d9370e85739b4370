// The EndpointSliceMirroring controller's rules (src/model/mirror.ts): what is mirrored, what is
// skipped and why, the 1000-address limit, labels, families and readiness.
import { describe, expect, it } from 'vitest';
import { MIRROR_MANAGED_BY, isMirroredSlice, mirrorEndpoints } from '../../src/model/mirror.js';

const svc = (name: string, spec: Record<string, unknown> = { ports: [{ port: 80 }] }) => ({
  metadata: { name, namespace: 'default' },
  spec,
});
const ep = (name: string, subsets: unknown[], meta: Record<string, unknown> = {}) => ({
  metadata: { name, namespace: 'default', ...meta },
  subsets,
});
const addrs = (n: number, base = 0) =>
  Array.from({ length: n }, (_, i) => ({ ip: `10.1.${(base + i) >> 8}.${(base + i) & 255}` }));

describe('Endpoints mirroring', () => {
  it("mirrors a selector-less Service's Endpoints: ready and not-ready addresses, ports, labels", () => {
    const r = mirrorEndpoints(
      [
        ep(
          'db',
          [
            {
              addresses: [{ ip: '192.0.2.1', nodeName: 'n1' }],
              notReadyAddresses: [{ ip: '192.0.2.2' }],
              ports: [{ name: 'pg', port: 5432 }],
            },
          ],
          { labels: { team: 'a' } },
        ),
      ],
      [svc('db')],
    );
    expect(r.skipped).toEqual([]);
    expect(r.slices).toHaveLength(1);
    const s = r.slices[0];
    expect(s.metadata.labels).toEqual({
      team: 'a',
      'kubernetes.io/service-name': 'db',
      'endpointslice.kubernetes.io/managed-by': MIRROR_MANAGED_BY,
    });
    expect(s).toMatchObject({ addressType: 'IPv4', ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }] });
    expect(s.endpoints).toEqual([
      { addresses: ['192.0.2.1'], conditions: { ready: true }, nodeName: 'n1' },
      { addresses: ['192.0.2.2'], conditions: { ready: false } },
    ]);
    expect(isMirroredSlice(s)).toBe(true);
  });

  it('skips as the controller does: skip-mirror label, leader annotation, no Service, a Service with a selector', () => {
    const subsets = [{ addresses: [{ ip: '192.0.2.1' }], ports: [{ port: 80 }] }];
    const r = mirrorEndpoints(
      [
        ep('a', subsets, { labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } }),
        ep('b', subsets, { annotations: { 'control-plane.alpha.kubernetes.io/leader': '{}' } }),
        ep('c', subsets),
        ep('d', subsets),
        ep('e', subsets),
      ],
      [svc('a'), svc('b'), svc('d', { selector: { app: 'd' } }), svc('e', { selector: {} })],
    );
    expect(r.slices).toEqual([]);
    expect(r.skipped.map((s) => [s.name, s.reason.split(' ')[0]])).toEqual([
      ['a', 'labelled'],
      ['b', 'has'],
      ['c', 'no'],
      ['d', 'Service'],
      ['e', 'Service'],
    ]);
  });

  it('mirrors at most 1000 addresses per subset, ready ones first, and says how many it dropped', () => {
    const r = mirrorEndpoints(
      [ep('big', [{ addresses: addrs(999), notReadyAddresses: addrs(5, 999), ports: [{ port: 80 }] }])],
      [svc('big')],
    );
    const eps = r.slices[0].endpoints as Array<{ conditions: { ready: boolean } }>;
    expect(eps).toHaveLength(1000);
    expect(eps.filter((e) => !e.conditions.ready)).toHaveLength(1);
    expect(r.truncated).toEqual([{ namespace: 'default', name: 'big', subset: 0, dropped: 4 }]);
  });

  it('makes one slice per subset and family, and drops addresses that are no IP', () => {
    const r = mirrorEndpoints(
      [
        ep('m', [
          { addresses: [{ ip: '192.0.2.1' }, { ip: '2001:db8::1' }, { ip: 'not-an-ip' }], ports: [{ port: 80 }] },
          { addresses: [{ ip: '192.0.2.9' }], ports: [{ port: 81 }] },
        ]),
      ],
      [svc('m')],
    );
    expect(r.slices.map((s) => [s.metadata.name, s.addressType, (s.endpoints as unknown[]).length])).toEqual([
      ['m-mirror-0', 'IPv4', 1],
      ['m-mirror-0-v6', 'IPv6', 1],
      ['m-mirror-1', 'IPv4', 1],
    ]);
  });
});
