// compile: who may claim an address. External and load-balancer IPs go through the address
// policy (CVE-2020-8554); a frontend two Services want stays with the one that holds it.
import { describe, expect, it } from 'vitest';
import { compile, IdAllocator, type DesiredState, type NodeConfig } from '../../src/compile/index.js';
import { externalAddressRefusal } from '../../src/compile/external-ips.js';
import { buildModel } from '../../src/model/index.js';

type Obj = Record<string, unknown>;
const POLICY = { clusterCidrs: ['10.244.0.0/16'], serviceCidrs: ['10.96.0.0/12'], allowedCidrs: [] };
const NODE: NodeConfig = { nodeName: 'node-a', nodePortAddresses: ['10.250.0.11'], externalAddressPolicy: POLICY };

function svc(name: string, spec: Obj, extra: { createdAt?: string; status?: Obj } = {}): Obj {
  const metadata: Obj = {
    name,
    namespace: 'default',
    ...(extra.createdAt ? { creationTimestamp: extra.createdAt } : {}),
  };
  return { kind: 'Service', metadata, spec, ...(extra.status ? { status: extra.status } : {}) };
}
function run(services: Obj[], node = NODE, ids = new IdAllocator(), previous?: DesiredState): DesiredState {
  const wrap = (objs: Obj[]) => objs.map((object) => ({ object, origin: 'test.yaml' }));
  const { model, errors } = buildModel({ services: wrap(services), endpointSlices: [], nodes: [], errors: [] });
  expect(errors).toEqual([]);
  return compile(model, node, ids, previous);
}
const addrs = (d: DesiredState) => [...new Set(d.frontends.map((f) => f.key.addr))];
const owner = (d: DesiredState, addr: string) => {
  const fe = d.frontends.find((f) => f.key.addr === addr);
  return fe && d.services.get(fe.svcId)?.name;
};

describe('external address policy', () => {
  it('refuses the addresses no Service may take, and pod, Service and node addresses by default', () => {
    const why = (a: string) => externalAddressRefusal(a, POLICY, ['10.250.0.11']);
    expect(why('0.0.0.0')).toMatch(/unspecified/);
    expect(why('127.0.0.1')).toMatch(/loopback/);
    expect(why('169.254.1.1')).toMatch(/link-local/);
    expect(why('239.1.1.1')).toMatch(/multicast/);
    expect(why('255.255.255.255')).toMatch(/broadcast/);
    expect(why('10.244.1.2')).toMatch(/cluster CIDR 10\.244\.0\.0\/16/);
    expect(why('10.96.0.10')).toMatch(/Service CIDR/);
    expect(why('10.250.0.11')).toMatch(/this node's address/);
    expect(why('203.0.113.7')).toBeUndefined();
  });

  it('with --allowed-external-ip-cidrs accepts only those ranges, and lifts the cluster refusal inside them', () => {
    const policy = { ...POLICY, allowedCidrs: ['203.0.113.0/24', '10.244.9.0/24'] };
    expect(externalAddressRefusal('203.0.113.7', policy, [])).toBeUndefined();
    expect(externalAddressRefusal('10.244.9.1', policy, [])).toBeUndefined();
    expect(externalAddressRefusal('198.51.100.1', policy, [])).toMatch(/outside --allowed-external-ip-cidrs/);
    expect(externalAddressRefusal('127.0.0.1', { ...policy, allowedCidrs: ['0.0.0.0/0'] }, [])).toMatch(/loopback/);
  });

  it('programs the rest of a Service whose externalIPs name a pod, loopback and 0.0.0.0, and reports each by field', () => {
    const d = run([
      svc('hijack', {
        clusterIP: '10.96.0.50',
        externalIPs: ['0.0.0.0', '127.0.0.1', '10.244.1.2', '203.0.113.7'],
        ports: [{ port: 80 }],
      }),
    ]);
    expect(addrs(d)).toEqual(['10.96.0.50', '203.0.113.7']);
    expect(d.refused.map((e) => `${e.field}: ${e.message}`)).toEqual([
      expect.stringMatching(/^spec\.externalIPs\[0\]: 0\.0\.0\.0 is the unspecified range/),
      expect.stringMatching(/^spec\.externalIPs\[1\]: 127\.0\.0\.1 is loopback/),
      expect.stringMatching(/^spec\.externalIPs\[2\]: 10\.244\.1\.2 is inside the cluster CIDR/),
    ]);
    expect(d.refused[0].describe()).toContain('Service default/hijack');
  });

  it('applies to LoadBalancer ingress addresses too', () => {
    const d = run([
      svc(
        'lb',
        { type: 'LoadBalancer', clusterIP: '10.96.0.51', ports: [{ port: 80, nodePort: 30001 }] },
        { status: { loadBalancer: { ingress: [{ ip: '10.250.0.11' }, { ip: '198.51.100.9' }] } } },
      ),
    ]);
    expect(addrs(d)).toContain('198.51.100.9');
    expect(d.frontends.filter((f) => f.key.addr === '10.250.0.11' && f.key.port === 80)).toEqual([]);
    expect(d.refused.map((e) => e.field)).toEqual(['status.loadBalancer.ingress']);
  });
});

describe('frontend ownership', () => {
  const first = svc(
    'aaa-first',
    { clusterIP: '10.96.0.10', ports: [{ port: 80 }] },
    { createdAt: '2026-01-01T00:00:00Z' },
  );
  const newcomer = svc(
    'a-newcomer',
    { clusterIP: '10.96.0.10', ports: [{ port: 80 }] },
    { createdAt: '2026-06-01T00:00:00Z' },
  );

  it('gives a contested frontend to the older Service, not the first by name, and names both in the refusal', () => {
    const d = run([newcomer, first]);
    expect(owner(d, '10.96.0.10')).toBe('aaa-first');
    expect(d.conflicts.map((e) => e.describe())).toEqual([
      expect.stringMatching(
        /Service default\/a-newcomer: spec\.ports\[0\]\.port.*10\.96\.0\.10:80\/TCP is already taken by Service default\/aaa-first/,
      ),
    ]);
  });

  it("keeps a frontend with the Service that holds it, whatever the newcomer's age or name", () => {
    const ids = new IdAllocator();
    const holder = svc('zzz-holder', { clusterIP: '10.96.0.10', ports: [{ port: 80 }] });
    const before = run([holder], NODE, ids);
    const older = svc(
      'aaa-older',
      { clusterIP: '10.96.0.10', ports: [{ port: 80 }] },
      { createdAt: '2020-01-01T00:00:00Z' },
    );
    const after = run([holder, older], NODE, ids, before);
    expect(owner(after, '10.96.0.10')).toBe('zzz-holder');
    expect(after.conflicts[0].describe()).toMatch(/aaa-older.*already taken by Service default\/zzz-holder/);

    // When the holder goes, the newcomer gets the frontend on the next compile.
    const later = run([older], NODE, ids, after);
    expect(owner(later, '10.96.0.10')).toBe('aaa-older');
    expect(later.conflicts).toEqual([]);
  });
});
