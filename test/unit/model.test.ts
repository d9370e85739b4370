import { describe, expect, it } from 'vitest';
import { buildModel, ValidationError } from '../../src/model/index.js';
import type { Snapshot } from '../../src/sources/types.js';

type Obj = Record<string, unknown>;

function snap(parts: { services?: Obj[]; slices?: Obj[]; nodes?: Obj[] }, origin = 'manifests/web.yaml'): Snapshot {
  const wrap = (objs: Obj[] = []) => objs.map((object) => ({ object, origin }));
  return { services: wrap(parts.services), endpointSlices: wrap(parts.slices), nodes: wrap(parts.nodes), errors: [] };
}

function svc(spec: Obj, meta: Obj = {}, status?: Obj): Obj {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', ...meta }, spec, ...(status ? { status } : {}) };
}

function slice(name: string, service: string, body: Obj): Obj {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    ...body,
  };
}

const basic = { clusterIP: '10.96.0.10', ports: [{ port: 80 }] };

describe('Service normalization', () => {
  it('fills defaults', () => {
    const { model, errors } = buildModel(snap({ services: [svc(basic)] }));
    expect(errors).toEqual([]);
    const s = model.services.get('default/web')!;
    expect(s).toMatchObject({
      origin: 'manifests/web.yaml',
      namespace: 'default',
      name: 'web',
      key: 'default/web',
      type: 'ClusterIP',
      headless: false,
      clusterIPs: ['10.96.0.10'],
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
      sessionAffinity: 'None',
      sessionAffinityTimeout: 10800,
      externalTrafficPolicy: 'Cluster',
      internalTrafficPolicy: 'Cluster',
      externalIPs: [],
      loadBalancerIPs: [],
      loadBalancerSourceRanges: [],
      publishNotReadyAddresses: false,
      labels: {},
    });
    expect(s.ports).toEqual([{ index: 0, name: '', protocol: 'TCP', port: 80, targetPort: 80 }]);
    expect(s.healthCheckNodePort).toBeUndefined();
  });

  it('reads every field it normalizes', () => {
    const { model, errors } = buildModel(
      snap({
        services: [
          svc(
            {
              type: 'LoadBalancer',
              clusterIPs: ['10.96.0.11', 'fd00::11'],
              clusterIP: '10.96.0.11',
              ports: [
                { name: 'http', port: 80, targetPort: 'web', nodePort: 30080 },
                { name: 'dns', protocol: 'UDP', port: 53, targetPort: 5353, nodePort: 30053 },
              ],
              sessionAffinity: 'ClientIP',
              sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } },
              externalTrafficPolicy: 'Local',
              internalTrafficPolicy: 'Local',
              healthCheckNodePort: 32000,
              externalIPs: ['192.0.2.10', '2001:db8::1'],
              loadBalancerSourceRanges: ['203.0.113.0/24'],
              publishNotReadyAddresses: true,
            },
            { namespace: 'shop', labels: { 'service.kubernetes.io/service-proxy-name': 'other' } },
            {
              loadBalancer: {
                ingress: [
                  { ip: '198.51.100.7' },
                  { hostname: 'lb.example.com' },
                  { ip: '198.51.100.8', ipMode: 'Proxy' },
                ],
              },
            },
          ),
        ],
      }),
    );
    expect(errors).toEqual([]);
    const s = model.services.get('shop/web')!;
    expect(s.clusterIPs).toEqual(['10.96.0.11', 'fd00::11']);
    expect(s.ipFamilies).toEqual(['IPv4', 'IPv6']);
    expect(s.ipFamilyPolicy).toBe('RequireDualStack');
    expect(s.ports).toEqual([
      { index: 0, name: 'http', protocol: 'TCP', port: 80, targetPort: 'web', nodePort: 30080 },
      { index: 1, name: 'dns', protocol: 'UDP', port: 53, targetPort: 5353, nodePort: 30053 },
    ]);
    expect(s).toMatchObject({
      type: 'LoadBalancer',
      sessionAffinity: 'ClientIP',
      sessionAffinityTimeout: 60,
      externalTrafficPolicy: 'Local',
      internalTrafficPolicy: 'Local',
      healthCheckNodePort: 32000,
      externalIPs: ['192.0.2.10', '2001:db8::1'],
      loadBalancerIPs: ['198.51.100.7'],
      loadBalancerSourceRanges: ['203.0.113.0/24'],
      publishNotReadyAddresses: true,
      labels: { 'service.kubernetes.io/service-proxy-name': 'other' },
    });
  });

  it('marks headless and ExternalName Services', () => {
    const { model, errors } = buildModel(
      snap({
        services: [
          svc({ clusterIP: 'None', ports: [{ port: 80 }] }, { name: 'h' }),
          svc({ type: 'ExternalName', externalName: 'db.example.com', clusterIP: 'junk' }, { name: 'x' }),
        ],
      }),
    );
    expect(errors).toEqual([]);
    expect(model.services.get('default/h')).toMatchObject({ headless: true, clusterIPs: [] });
    expect(model.services.get('default/x')).toMatchObject({
      type: 'ExternalName',
      externalName: 'db.example.com',
      clusterIPs: [],
    });
  });

  it('drops nodePort on ClusterIP Services and treats 0 as unset', () => {
    const { model } = buildModel(
      snap({
        services: [
          svc({ clusterIP: '10.96.0.12', ports: [{ port: 80, nodePort: 30080 }] }),
          svc(
            { type: 'NodePort', clusterIP: '10.96.0.13', ports: [{ port: 80, nodePort: 0, targetPort: 0 }] },
            { name: 'np' },
          ),
        ],
      }),
    );
    expect(model.services.get('default/web')!.ports[0].nodePort).toBeUndefined();
    expect(model.services.get('default/np')!.ports[0]).toEqual({
      index: 0,
      name: '',
      protocol: 'TCP',
      port: 80,
      targetPort: 80,
    });
  });

  it('takes the legacy source-ranges annotation when the field is empty', () => {
    const { model } = buildModel(
      snap({
        services: [
          svc(
            { type: 'LoadBalancer', clusterIP: '10.96.0.14', ports: [{ port: 80 }] },
            { annotations: { 'service.beta.kubernetes.io/load-balancer-source-ranges': '10.0.0.0/8, 192.168.0.0/16' } },
          ),
        ],
      }),
    );
    expect(model.services.get('default/web')!.loadBalancerSourceRanges).toEqual(['10.0.0.0/8', '192.168.0.0/16']);
  });
});

describe('Service validation', () => {
  const cases: Array<[string, Obj, string, string]> = [
    [
      'port 0',
      {
        clusterIP: '10.96.0.10',
        ports: [
          { name: 'a', port: 80 },
          { name: 'b', port: 0 },
        ],
      },
      'spec.ports[1].port',
      'must be an integer 1..65535 (got 0)',
    ],
    ['port > 65535', { ports: [{ port: 70000 }] }, 'spec.ports[0].port', 'must be an integer 1..65535 (got 70000)'],
    ['missing port', { ports: [{ name: 'x' }] }, 'spec.ports[0].port', 'is required: an integer 1..65535'],
    [
      'bad clusterIP',
      { clusterIP: '10.0.0.300', ports: [{ port: 80 }] },
      'spec.clusterIP',
      'must be an IPv4 or IPv6 address (got "10.0.0.300")',
    ],
    [
      'bad clusterIPs entry',
      { clusterIPs: ['10.0.0.1', 'nope'], ports: [{ port: 80 }] },
      'spec.clusterIPs[1]',
      'must be an IPv4 or IPv6 address (got "nope")',
    ],
    [
      'SCTP',
      { ports: [{ port: 80, protocol: 'SCTP' }] },
      'spec.ports[0].protocol',
      'SCTP is not supported (TCP or UDP)',
    ],
    [
      'unknown protocol',
      { ports: [{ port: 80, protocol: 'ICMP' }] },
      'spec.ports[0].protocol',
      'must be TCP or UDP (got "ICMP")',
    ],
    [
      'quoted numeric targetPort',
      { ports: [{ port: 80, targetPort: '8080' }] },
      'spec.ports[0].targetPort',
      'must be an integer 1..65535 or a port name (got "8080": write the number without quotes)',
    ],
    [
      'bad targetPort name',
      { ports: [{ port: 80, targetPort: 'Not_A_Name' }] },
      'spec.ports[0].targetPort',
      'must be an integer 1..65535 or an IANA service name like "http" (got "Not_A_Name")',
    ],
    [
      'nodePort out of range',
      { type: 'NodePort', ports: [{ port: 80, nodePort: 65536 }] },
      'spec.ports[0].nodePort',
      'must be an integer 1..65535 (got 65536)',
    ],
    [
      'unknown type',
      { type: 'Magic', ports: [{ port: 80 }] },
      'spec.type',
      'must be one of ClusterIP, NodePort, LoadBalancer, ExternalName (got "Magic")',
    ],
    [
      'affinity timeout 0',
      {
        ports: [{ port: 80 }],
        sessionAffinity: 'ClientIP',
        sessionAffinityConfig: { clientIP: { timeoutSeconds: 0 } },
      },
      'spec.sessionAffinityConfig.clientIP.timeoutSeconds',
      'must be an integer 1..86400 (got 0)',
    ],
    [
      'affinity timeout too long',
      { ports: [{ port: 80 }], sessionAffinityConfig: { clientIP: { timeoutSeconds: 86401 } } },
      'spec.sessionAffinityConfig.clientIP.timeoutSeconds',
      'must be an integer 1..86400 (got 86401)',
    ],
    [
      'bad policy',
      { ports: [{ port: 80 }], externalTrafficPolicy: 'Nearby' },
      'spec.externalTrafficPolicy',
      'must be one of Cluster, Local (got "Nearby")',
    ],
    [
      'bad external IP',
      { ports: [{ port: 80 }], externalIPs: ['1.2.3'] },
      'spec.externalIPs[0]',
      'must be an IPv4 or IPv6 address (got "1.2.3")',
    ],
    [
      'bad source range',
      { ports: [{ port: 80 }], loadBalancerSourceRanges: ['10.0.0.0/33'] },
      'spec.loadBalancerSourceRanges[0]',
      'must be a CIDR such as 203.0.113.0/24 (got "10.0.0.0/33")',
    ],
    ['ports not a list', { ports: { port: 80 } }, 'spec.ports', 'must be a list (got {"port":80})'],
    [
      'unnamed port among several',
      { ports: [{ name: 'a', port: 80 }, { port: 81 }] },
      'spec.ports[1].name',
      'is required when a Service has more than one port',
    ],
    [
      'duplicate port name',
      {
        ports: [
          { name: 'a', port: 80 },
          { name: 'a', port: 81 },
        ],
      },
      'spec.ports[1].name',
      'duplicates spec.ports[0].name "a"',
    ],
    [
      'duplicate port',
      {
        ports: [
          { name: 'a', port: 80 },
          { name: 'b', port: 80 },
        ],
      },
      'spec.ports[1].port',
      'duplicates spec.ports[0] (80/TCP)',
    ],
    ['spec not an object', { __replace: 'spec' }, 'spec', 'must be an object (got "spec")'],
  ];
  for (const [what, spec, field, message] of cases) {
    it(`rejects ${what}, naming the field`, () => {
      const obj =
        '__replace' in spec ? { kind: 'Service', metadata: { name: 'web' }, spec: spec.__replace } : svc(spec);
      const { model, errors } = buildModel(snap({ services: [obj] }));
      expect(model.services.size).toBe(0);
      expect(errors.map((e) => [e.field, e.message])).toContainEqual([field, message]);
      expect(
        errors.every((e) => e.rejected && e.kind === 'Service' && e.namespace === 'default' && e.name === 'web'),
      ).toBe(true);
    });
  }

  it('describes an error the way a user reads it', () => {
    const { errors } = buildModel(
      snap({
        services: [
          svc({
            ports: [
              { name: 'a', port: 80 },
              { name: 'b', port: 0 },
            ],
          }),
        ],
      }),
    );
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(ValidationError);
    expect(errors[0].describe()).toBe(
      'manifests/web.yaml: Service default/web: spec.ports[1].port: must be an integer 1..65535 (got 0)',
    );
    expect(String(errors[0])).toBe(errors[0].describe());
  });

  it('reports every bad field of an object at once', () => {
    const { errors } = buildModel(
      snap({ services: [svc({ clusterIP: 'x', ports: [{ port: 0, protocol: 'SCTP' }] })] }),
    );
    expect(errors.map((e) => e.field).sort()).toEqual([
      'spec.clusterIP',
      'spec.ports[0].port',
      'spec.ports[0].protocol',
    ]);
  });

  it('rejects non-objects and missing names', () => {
    const snapshot = snap({ services: [] });
    snapshot.services.push(
      { object: 42 as unknown as Obj, origin: 'a.yaml' },
      { object: { kind: 'Service', spec: basic }, origin: 'b.yaml' },
    );
    const { model, errors } = buildModel(snapshot);
    expect(model.services.size).toBe(0);
    expect(errors.map((e) => e.describe())).toEqual([
      'a.yaml: Service <unnamed>: must be an object (got 42)',
      'b.yaml: Service default/<unnamed>: metadata.name: is required: a non-empty string (got nothing)',
    ]);
  });

  it('keeps the first of two Services with the same namespace/name and reports the second', () => {
    const snapshot = snap({ services: [svc(basic)] }, 'a.yaml');
    snapshot.services.push({ object: svc({ clusterIP: '10.96.0.99', ports: [{ port: 81 }] }), origin: 'b.yaml' });
    const { model, errors } = buildModel(snapshot);
    expect(model.services.get('default/web')!.clusterIPs).toEqual(['10.96.0.10']);
    expect(errors.map((e) => e.describe())).toEqual([
      'b.yaml: Service default/web: metadata.name: duplicates the Service of the same name from a.yaml; this one is ignored',
    ]);
  });

  it('skips a bad object and keeps the rest', () => {
    const { model, errors } = buildModel(
      snap({ services: [svc({ ports: [{ port: -1 }] }, { name: 'bad' }), svc(basic)] }),
    );
    expect([...model.services.keys()]).toEqual(['default/web']);
    expect(errors).toHaveLength(1);
  });
});

describe('EndpointSlice normalization', () => {
  it('reads ports, endpoints and conditions with their nil defaults', () => {
    const { model, errors } = buildModel(
      snap({
        slices: [
          {
            ...slice('web-abc', 'web', {
              ports: [
                { name: 'http', port: 8080, protocol: 'TCP' },
                { port: 53, protocol: 'UDP' },
                { name: 'all' },
                { name: 's', port: 9, protocol: 'SCTP' },
              ],
              endpoints: [
                { addresses: ['10.244.1.5'], nodeName: 'node-a', zone: 'z1' },
                { addresses: ['10.244.1.6', '10.244.1.7'], conditions: { ready: false } },
                { addresses: ['10.244.1.8'], conditions: { ready: false, serving: true, terminating: true } },
              ],
            }),
            metadata: {
              name: 'web-abc',
              namespace: 'shop',
              labels: { 'kubernetes.io/service-name': 'web' },
              annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': '2024-05-01T10:00:00Z' },
            },
          },
        ],
      }),
    );
    expect(errors).toEqual([]);
    const [s] = model.slicesByService.get('shop/web')!;
    expect(s).toMatchObject({ namespace: 'shop', name: 'web-abc', serviceName: 'web', serviceKey: 'shop/web' });
    expect(s.lastChangeTriggerTime).toEqual(new Date('2024-05-01T10:00:00Z'));
    expect(model.triggerTimes).toEqual([new Date('2024-05-01T10:00:00Z')]);
    expect(s.ports).toEqual([
      { name: 'http', port: 8080, protocol: 'TCP' },
      { name: '', port: 53, protocol: 'UDP' },
    ]);
    expect([...s.endpoints]).toEqual([
      { address: '10.244.1.5', ready: true, serving: true, terminating: false, nodeName: 'node-a', zone: 'z1' },
      { address: '10.244.1.6', ready: false, serving: false, terminating: false },
      { address: '10.244.1.8', ready: false, serving: true, terminating: true },
    ]);
  });

  it('groups slices of both families by Service, sorted by name, and skips FQDN slices silently', () => {
    const { model, errors } = buildModel(
      snap({
        slices: [
          slice('web-c', 'web', {}),
          slice('web-a', 'web', {}),
          slice('other-a', 'other', {}),
          slice('web-v6', 'web', { addressType: 'IPv6', endpoints: [{ addresses: ['FD00:0::01'] }] }),
          slice('web-fqdn', 'web', { addressType: 'FQDN', endpoints: [{ addresses: ['a.example'] }] }),
        ],
      }),
    );
    expect(errors).toEqual([]);
    const web = model.slicesByService.get('default/web')!;
    expect(web.map((s) => s.name)).toEqual(['web-a', 'web-c', 'web-v6']);
    expect(web[2]!.addressType).toBe('IPv6');
    expect(web[2]!.endpoints.map((e) => e.address)).toEqual(['fd00::1']);
    expect(model.slicesByService.get('default/other')!.map((s) => s.name)).toEqual(['other-a']);
  });

  it('requires the service-name label', () => {
    const { model, errors } = buildModel(
      snap({ slices: [{ kind: 'EndpointSlice', metadata: { name: 'orphan' }, addressType: 'IPv4' }] }),
    );
    expect(model.slicesByService.size).toBe(0);
    expect(errors.map((e) => e.describe())).toEqual([
      'manifests/web.yaml: EndpointSlice default/orphan: metadata.labels: needs label kubernetes.io/service-name naming the Service',
    ]);
  });

  it('rejects bad addresses and ports, naming the field', () => {
    const { errors } = buildModel(
      snap({
        slices: [
          slice('a', 'web', { endpoints: [{ addresses: ['10.244.1.300'] }] }),
          slice('b', 'web', { ports: [{ name: 'x', port: 0 }] }),
          slice('c', 'web', { addressType: 'IPv5' }),
        ],
      }),
    );
    expect(errors.map((e) => `${e.name} ${e.field}: ${e.message}`)).toEqual([
      'a endpoints[0].addresses[0]: must be an IPv4 address, as addressType says (got "10.244.1.300")',
      'b ports[0].port: must be an integer 1..65535 (got 0)',
      'c addressType: must be IPv4, IPv6 or FQDN (got "IPv5")',
    ]);
  });

  it('ignores an unparseable trigger time', () => {
    const s = slice('a', 'web', {});
    (s.metadata as Obj).annotations = { 'endpoints.kubernetes.io/last-change-trigger-time': 'yesterday' };
    const { model, errors } = buildModel(snap({ slices: [s] }));
    expect(errors).toEqual([]);
    expect(model.slicesByService.get('default/web')![0].lastChangeTriggerTime).toBeUndefined();
  });
});

describe('Node normalization', () => {
  it('keeps InternalIP and ExternalIP addresses of both families', () => {
    const { model, errors } = buildModel(
      snap({
        nodes: [
          {
            kind: 'Node',
            metadata: { name: 'node-a' },
            status: {
              addresses: [
                { type: 'InternalIP', address: '172.16.0.12' },
                { type: 'InternalIP', address: 'fd00::12' },
                { type: 'ExternalIP', address: '203.0.113.12' },
                { type: 'Hostname', address: 'node-a' },
              ],
            },
          },
        ],
      }),
    );
    expect(errors).toEqual([]);
    expect(model.nodes.get('node-a')!.addresses).toEqual([
      { type: 'InternalIP', address: '172.16.0.12' },
      { type: 'InternalIP', address: 'fd00::12' },
      { type: 'ExternalIP', address: '203.0.113.12' },
    ]);
  });

  it('rejects a bad node address', () => {
    const { errors } = buildModel(
      snap({ nodes: [{ metadata: { name: 'n' }, status: { addresses: [{ type: 'InternalIP', address: 'x' }] } }] }),
    );
    expect(errors.map((e) => e.describe())).toEqual([
      'manifests/web.yaml: Node n: status.addresses[0].address: must be an IPv4 or IPv6 address (got "x")',
    ]);
  });
});

describe('targetPort check', () => {
  const service = svc({
    clusterIP: '10.96.0.20',
    ports: [
      { name: 'http', port: 80, targetPort: 'web' },
      { name: 'metrics', port: 9090, targetPort: 'prom' },
    ],
  });

  it('reports a named targetPort no slice resolves, and keeps the Service', () => {
    const { model, errors } = buildModel(
      snap({
        services: [service],
        slices: [
          slice('web-a', 'web', { ports: [{ name: 'web', port: 8080 }], endpoints: [{ addresses: ['10.244.0.5'] }] }),
        ],
      }),
    );
    expect(model.services.has('default/web')).toBe(true);
    expect(errors.map((e) => e.describe())).toEqual([
      'manifests/web.yaml: Service default/web: spec.ports[1].targetPort: no TCP port named "prom" or "metrics" in the ' +
        'EndpointSlices of default/web (they have "web"); this port has no backends',
    ]);
    expect(errors[0].rejected).toBe(false);
  });

  it('is quiet when a slice port carries the Service port name', () => {
    const { errors } = buildModel(
      snap({
        services: [service],
        slices: [
          slice('web-a', 'web', {
            ports: [
              { name: 'http', port: 8080 },
              { name: 'metrics', port: 9100 },
            ],
            endpoints: [{ addresses: ['10.244.0.5'] }],
          }),
        ],
      }),
    );
    expect(errors).toEqual([]);
  });

  it('is quiet for a Service without endpoints', () => {
    const { errors } = buildModel(snap({ services: [service], slices: [slice('web-a', 'web', { endpoints: [] })] }));
    expect(errors).toEqual([]);
  });
});

describe('dual-stack Services', () => {
  const one = (spec: object) => buildModel(snap({ services: [svc({ ports: [{ port: 80 }], ...spec })] }));
  const described = (spec: object) => one(spec).errors.map((e) => e.describe());
  const W = 'manifests/web.yaml: Service default/web:';

  it('keeps both cluster IPs in canonical form, primary first', () => {
    const { model, errors } = one({
      clusterIP: 'FD10:0:0:0::0A',
      clusterIPs: ['FD10:0:0:0::0A', '10.96.0.10'],
      ipFamilies: ['IPv6', 'IPv4'],
      ipFamilyPolicy: 'PreferDualStack',
      loadBalancerSourceRanges: ['2001:DB8:0::/48'],
    });
    expect(errors).toEqual([]);
    expect(model.services.get('default/web')).toMatchObject({
      clusterIPs: ['fd10::a', '10.96.0.10'],
      ipFamilies: ['IPv6', 'IPv4'],
      ipFamilyPolicy: 'PreferDualStack',
      loadBalancerSourceRanges: ['2001:db8::/48'],
    });
  });

  it('rejects clusterIPs that break the API server rules, naming the field', () => {
    expect(described({ clusterIP: '10.96.0.1', clusterIPs: ['fd10::1', '10.96.0.1'] })).toEqual([
      `${W} spec.clusterIP: must equal spec.clusterIPs[0] (got "10.96.0.1" and "fd10::1")`,
    ]);
    expect(described({ clusterIPs: ['10.96.0.1', '10.96.0.2'] })).toEqual([
      `${W} spec.clusterIPs[1]: must be of the other family than spec.clusterIPs[0] (both are IPv4)`,
    ]);
    expect(described({ clusterIPs: ['10.96.0.1', 'fd10::1'], ipFamilies: ['IPv6', 'IPv4'] })).toEqual([
      `${W} spec.clusterIPs[0]: is IPv4 but spec.ipFamilies[0] is IPv6`,
      `${W} spec.clusterIPs[1]: is IPv6 but spec.ipFamilies[1] is IPv4`,
    ]);
    expect(described({ clusterIPs: ['10.96.0.1', 'fd10::1'], ipFamilyPolicy: 'SingleStack' })).toEqual([
      `${W} spec.clusterIPs: holds two addresses but spec.ipFamilyPolicy is SingleStack`,
    ]);
    expect(described({ clusterIPs: ['fd10::1'], ipFamilyPolicy: 'RequireDualStack' })).toEqual([
      `${W} spec.clusterIPs: needs one address per family under ipFamilyPolicy RequireDualStack (got one)`,
    ]);
    expect(
      described({ clusterIPs: ['fd10::1'], ipFamilies: ['IPv6', 'IPv6'], ipFamilyPolicy: 'PreferDualStack' }),
    ).toEqual([`${W} spec.ipFamilies[1]: duplicates spec.ipFamilies[0] (IPv6)`]);
    expect(described({ clusterIP: 'fe80::1%eth0' })).toEqual([
      `${W} spec.clusterIP: must be an IPv4 or IPv6 address (got "fe80::1%eth0")`,
    ]);
    expect(described({ clusterIP: '10.96.0.1', ipFamilies: ['IPv7'] })[0]).toContain(
      'spec.ipFamilies[0]: must be one of',
    );
  });

  it('rejects an IPv4 address in an IPv6 slice, naming the field', () => {
    const { errors } = buildModel(
      snap({ slices: [slice('w6', 'web', { addressType: 'IPv6', endpoints: [{ addresses: ['10.0.0.1'] }] })] }),
    );
    expect(errors.map((e) => e.describe())).toEqual([
      'manifests/web.yaml: EndpointSlice default/w6: endpoints[0].addresses[0]: must be an IPv6 address, as addressType says (got "10.0.0.1")',
    ]);
  });
});
