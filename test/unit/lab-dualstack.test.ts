// The lab's IPv6 side, pure: derived ULA addresses, the API server's per-family cluster IPs,
// and the IPv6 slice twin the controller writes; the model must accept what they produce.
import { describe, expect, it } from 'vitest';
import { familySlices, stampFamilies } from '../../src/lab/dualstack-objects.js';
import { nodeIpv6, podCidr6, podIpv6, serviceIpv6 } from '../../src/lab/dualstack.js';
import type { KubeObject } from '../../src/fakeapi/server.js';
import { buildModel } from '../../src/model/index.js';

const svc = (spec: Record<string, unknown>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'web', namespace: 'default' },
  spec: { ports: [{ port: 80 }], selector: { app: 'web' }, ...spec },
});
const slice: KubeObject = {
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { name: 'web-abcde', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } },
  addressType: 'IPv4',
  ports: [{ name: '', port: 80, protocol: 'TCP' }],
  endpoints: [{ addresses: ['10.244.1.11'], conditions: { ready: true }, nodeName: 'node1' }],
};

describe('lab dual stack', () => {
  it('derives ULA addresses one to one from the IPv4 ones', () => {
    expect(podIpv6('10.244.2.13')).toBe('fd10:244:2::13');
    expect(serviceIpv6('10.99.99.99')).toBe('fd00:96::99:99:99');
    expect(serviceIpv6('10.96.0.10')).toBe('fd00:96::96:0:10');
    expect([nodeIpv6(1), podCidr6(1)]).toEqual(['fd00:250::11', 'fd10:244:1::/64']);
  });

  it('gives cluster IPs per ipFamilyPolicy, as the API server of a cluster of that family would', () => {
    const spec = (o: KubeObject) => o.spec as Record<string, unknown>;
    const prefer = svc({ clusterIP: '10.99.99.99', ipFamilyPolicy: 'PreferDualStack' });
    expect(spec(stampFamilies(prefer, 'dual'))).toMatchObject({
      clusterIPs: ['10.99.99.99', 'fd00:96::99:99:99'],
      ipFamilies: ['IPv4', 'IPv6'],
    });
    expect(spec(stampFamilies(prefer, 'ipv4'))).toMatchObject({ clusterIPs: ['10.99.99.99'], ipFamilies: ['IPv4'] });
    expect(spec(stampFamilies(prefer, 'ipv6'))).toMatchObject({
      clusterIP: 'fd00:96::99:99:99',
      clusterIPs: ['fd00:96::99:99:99'],
      ipFamilies: ['IPv6'],
    });
    // Unset policy is SingleStack: the primary family only, even in a dual-stack lab.
    expect(spec(stampFamilies(svc({ clusterIP: '10.99.99.98' }), 'dual'))).toMatchObject({
      clusterIPs: ['10.99.99.98'],
      ipFamilyPolicy: 'SingleStack',
    });
    expect(() => stampFamilies(svc({ clusterIP: '10.1.1.1', ipFamilyPolicy: 'RequireDualStack' }), 'ipv4')).toThrow(
      'Service web: spec.ipFamilyPolicy: RequireDualStack needs a dual-stack lab (this one is ipv4)',
    );
  });

  it('writes an IPv6 twin of the slice for an IPv6 family, and the model accepts both', () => {
    const dual = stampFamilies(svc({ clusterIP: '10.99.99.99', ipFamilyPolicy: 'PreferDualStack' }), 'dual');
    const slices = familySlices([slice], [dual]);
    expect(slices.map((s) => [s.metadata.name, s.addressType])).toEqual([
      ['web-abcde', 'IPv4'],
      ['web-abcde-v6', 'IPv6'],
    ]);
    expect((slices[1]!.endpoints as Array<{ addresses: string[] }>)[0]!.addresses).toEqual(['fd10:244:1::11']);
    expect(
      familySlices([slice], [stampFamilies(svc({ clusterIP: '10.1.1.1' }), 'ipv6')]).map((s) => s.addressType),
    ).toEqual(['IPv6']);
    const of = (objects: KubeObject[]) => objects.map((object) => ({ object, origin: 'lab' }));
    const { model, errors } = buildModel({ services: of([dual]), endpointSlices: of(slices), nodes: [], errors: [] });
    expect(errors).toEqual([]);
    expect(model.services.get('default/web')!.clusterIPs).toEqual(['10.99.99.99', 'fd00:96::99:99:99']);
    expect(model.slicesByService.get('default/web')!.map((s) => s.addressType)).toEqual(['IPv4', 'IPv6']);
  });
});
