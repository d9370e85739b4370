// compile: service ports, endpoint selection, port resolution, backend sets.
import { describe, expect, it } from 'vitest';
import { BE_LOCAL, IPPROTO_TCP, IPPROTO_UDP, SCOPE_INTERNAL } from '../../src/abi/index.js';
import { compile, IdAllocator, type DesiredState, type NodeConfig } from '../../src/compile/index.js';
import { buildModel } from '../../src/model/index.js';

type Obj = Record<string, unknown>;
const NODE: NodeConfig = { nodeName: 'node-a', nodePortAddresses: ['172.16.0.12'] };

function svc(name: string, spec: Obj, meta: Obj = {}): Obj {
  return { kind: 'Service', metadata: { name, ...meta }, spec };
}
function slice(name: string, service: string, ports: Obj[] | undefined, endpoints: Obj[]): Obj {
  return {
    kind: 'EndpointSlice',
    metadata: { name, labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    ports,
    endpoints,
  };
}
function ep(addr: string, nodeName = 'node-b', conditions?: Obj): Obj {
  return { addresses: [addr], nodeName, ...(conditions ? { conditions } : {}) };
}
function run(services: Obj[], slices: Obj[] = [], ids = new IdAllocator(), node = NODE): DesiredState {
  const wrap = (objs: Obj[]) => objs.map((object) => ({ object, origin: 'test.yaml' }));
  const { model, errors } = buildModel({
    services: wrap(services),
    endpointSlices: wrap(slices),
    nodes: [],
    errors: [],
  });
  expect(errors.filter((e) => e.rejected)).toEqual([]);
  return compile(model, node, ids);
}
/** backends of the set a frontend uses, as "addr:port" */
function members(d: DesiredState, addr: string, port: number, proto = IPPROTO_TCP, scope = SCOPE_INTERNAL): string[] {
  const fe = d.frontends.find(
    (f) => f.key.addr === addr && f.key.port === port && f.key.proto === proto && f.key.scope === scope,
  );
  if (!fe) throw new Error(`no frontend ${addr}:${port}/${proto}/${scope}`);
  return d.sets.get(fe.setId)!.map((id) => `${d.backends.get(id)!.addr}:${d.backends.get(id)!.port}`);
}

describe('compile: ClusterIP basics', () => {
  it('programs one frontend per cluster IP and port, with its backends', () => {
    const ids = new IdAllocator();
    const d = run(
      [svc('my-nginx', { clusterIP: '10.96.0.10', ports: [{ port: 80, targetPort: 8080 }] })],
      [slice('my-nginx-1', 'my-nginx', [{ port: 8080 }], [ep('10.244.1.2'), ep('10.244.2.3', 'node-a')])],
      ids,
    );
    expect(d.frontends).toEqual([
      {
        key: { addr: '10.96.0.10', port: 80, proto: IPPROTO_TCP, scope: SCOPE_INTERNAL },
        ks: '10.96.0.10:80/6/0', // the key's text, made once by the claims
        svcId: 1,
        setId: 1,
        affinityTimeout: 0,
        flags: 0,
      },
    ]);
    expect([...d.sets]).toEqual([[1, [1, 2]]]);
    expect([...d.backends]).toEqual([
      [1, { addr: '10.244.1.2', port: 8080, flags: 0 }],
      [2, { addr: '10.244.2.3', port: 8080, flags: BE_LOCAL }],
    ]);
    expect(d.services.get(1)).toEqual({
      namespace: 'default',
      name: 'my-nginx',
      portName: '',
      protocol: 'TCP',
      port: 80,
      targetPort: 8080,
      type: 'ClusterIP',
      clusterIP: '10.96.0.10',
      affinityTimeout: 0,
      externalTrafficPolicy: 'Cluster',
      internalTrafficPolicy: 'Cluster',
      sourceRanges: [],
      frontends: ['10.96.0.10:80/TCP'],
      sets: { all: 1 },
      identity: 'default/my-nginx:/TCP',
    });
    expect(ids.identityOf('set', 1)).toBe('default/my-nginx:/TCP#all');
    expect(ids.identityOf('backend', 2)).toBe('default/my-nginx:/TCP@10.244.2.3:8080');
    expect(ids.peek('backend', 'default/my-nginx:/TCP@10.244.2.3:8080')).toBe(2);
    expect(d.conflicts).toEqual([]);
    expect(d.healthCheck).toEqual([]);
  });

  it('gives each port of a multi-port Service its own svc id, set and backends', () => {
    const d = run(
      [
        svc('web', {
          clusterIP: '10.96.0.20',
          ports: [
            { name: 'http', port: 80, targetPort: 8080 },
            { name: 'https', port: 443, targetPort: 8443 },
          ],
        }),
      ],
      [
        slice(
          'web-1',
          'web',
          [
            { name: 'http', port: 8080 },
            { name: 'https', port: 8443 },
          ],
          [ep('10.244.1.2'), ep('10.244.1.3')],
        ),
      ],
    );
    expect(d.frontends.map((f) => [f.key.port, f.svcId])).toEqual([
      [80, 1],
      [443, 2],
    ]);
    expect(members(d, '10.96.0.20', 80)).toEqual(['10.244.1.2:8080', '10.244.1.3:8080']);
    expect(members(d, '10.96.0.20', 443)).toEqual(['10.244.1.2:8443', '10.244.1.3:8443']);
    expect(d.backends.size).toBe(4);
    expect([...d.services.values()].map((s) => s.identity)).toEqual(['default/web:http/TCP', 'default/web:https/TCP']);
  });

  it('keeps TCP and UDP on the same port apart', () => {
    const d = run(
      [
        svc('dns', {
          clusterIP: '10.96.0.10',
          ports: [
            { name: 'dns', port: 53, protocol: 'UDP' },
            { name: 'dns-tcp', port: 53 },
          ],
        }),
      ],
      [
        slice(
          'dns-1',
          'dns',
          [
            { name: 'dns', port: 53, protocol: 'UDP' },
            { name: 'dns-tcp', port: 53, protocol: 'TCP' },
          ],
          [ep('10.244.0.5')],
        ),
      ],
    );
    expect(d.frontends.map((f) => [f.key.port, f.key.proto, f.svcId])).toEqual([
      [53, IPPROTO_TCP, 2],
      [53, IPPROTO_UDP, 1],
    ]);
    expect(members(d, '10.96.0.10', 53, IPPROTO_UDP)).toEqual(['10.244.0.5:53']);
    expect(members(d, '10.96.0.10', 53, IPPROTO_TCP)).toEqual(['10.244.0.5:53']);
    expect(d.sets.size).toBe(2);
    expect(d.backends.size).toBe(2); // backends are per service port
  });

  it("gives a dual-stack Service one frontend per family, each with its family's endpoints", () => {
    const ids = new IdAllocator();
    const v6 = { ...slice('ds-v6', 'ds', [{ port: 8080 }], [ep('fd10:1::7'), ep('FD10:1::5')]), addressType: 'IPv6' };
    const d = run(
      [svc('ds', { clusterIPs: ['fd00::30', '10.96.0.30'], ports: [{ port: 80, targetPort: 8080 }] })],
      [slice('ds-v4', 'ds', [{ port: 8080 }], [ep('10.244.1.9')]), v6],
      ids,
    );
    expect(d.frontends.map((f) => f.key.addr)).toEqual(['10.96.0.30', 'fd00::30']);
    expect(members(d, '10.96.0.30', 80)).toEqual(['10.244.1.9:8080']);
    expect(members(d, 'fd00::30', 80)).toEqual(['fd10:1::5:8080', 'fd10:1::7:8080']);
    // One svc_id, one id space for backends of both families, a set per family.
    expect(new Set(d.frontends.map((f) => f.svcId)).size).toBe(1);
    expect([...d.backends.keys()]).toEqual([1, 2, 3]);
    const info = d.services.get(d.frontends[0]!.svcId)!;
    expect(info).toMatchObject({ clusterIP: 'fd00::30', frontends: ['[fd00::30]:80/TCP', '10.96.0.30:80/TCP'] });
    expect(Object.keys(info.sets).sort()).toEqual(['all', 'all6']);
    expect(ids.entries('backend').map(([identity]) => identity)).toContain('default/ds:/TCP@[fd10:1::5]:8080');
    expect(ids.peek('backend', 'default/ds:/TCP@[fd10:1::5]:8080')).toBeDefined();
  });

  it('gives an IPv6-only Service no IPv4 frontend and leaves its IPv4 slices unused', () => {
    const v6 = { ...slice('s6', 'six', [{ port: 80 }], [ep('fd10::9')]), addressType: 'IPv6' };
    const d = run(
      [svc('six', { clusterIP: 'fd00::31', ports: [{ port: 80 }] })],
      [slice('s4', 'six', [{ port: 80 }], [ep('10.244.1.9')]), v6],
    );
    expect(d.frontends.map((f) => f.key.addr)).toEqual(['fd00::31']);
    expect([...d.backends.values()].map((b) => b.addr)).toEqual(['fd10::9']);
  });

  it('programs nothing for headless and ExternalName Services, or a Service without ports or cluster IP', () => {
    const d = run(
      [
        svc('headless', { clusterIP: 'None', ports: [{ port: 80 }] }),
        svc('alias', { type: 'ExternalName', externalName: 'db.example.com', ports: [{ port: 5432 }] }),
        svc('portless', { clusterIP: '10.96.0.40' }),
        svc('unallocated', { ports: [{ port: 80 }] }),
      ],
      [slice('headless-1', 'headless', [{ port: 80 }], [ep('10.244.1.2')])],
    );
    expect(d.frontends).toEqual([]);
    expect(d.sets.size + d.backends.size + d.services.size).toBe(0);
  });

  it('emits a Service with no endpoints as an empty set (reject), not as nothing', () => {
    const d = run([svc('empty', { clusterIP: '10.96.0.50', ports: [{ port: 80 }] })]);
    expect(d.frontends).toHaveLength(1);
    expect([...d.sets]).toEqual([[1, []]]);
    expect(d.backends.size).toBe(0);
  });
});

describe('compile: port resolution', () => {
  it('uses the slice port named like the Service port', () => {
    const d = run(
      [svc('a', { clusterIP: '10.96.1.1', ports: [{ name: 'http', port: 80, targetPort: 'web' }] })],
      [
        slice(
          'a-1',
          'a',
          [
            { name: 'http', port: 8080 },
            { name: 'web', port: 9999 },
          ],
          [ep('10.244.1.2')],
        ),
      ],
    );
    expect(members(d, '10.96.1.1', 80)).toEqual(['10.244.1.2:8080']);
  });

  it('falls back to the slice port named like a named targetPort', () => {
    const d = run(
      [svc('a', { clusterIP: '10.96.1.1', ports: [{ name: 'http', port: 80, targetPort: 'web' }] })],
      [slice('a-1', 'a', [{ name: 'web', port: 8080 }], [ep('10.244.1.2')])],
    );
    expect(members(d, '10.96.1.1', 80)).toEqual(['10.244.1.2:8080']);
  });

  it('gives a named targetPort that resolves nowhere no backends, and keeps the other ports', () => {
    const wrap = (objs: Obj[]) => objs.map((object) => ({ object, origin: 'test.yaml' }));
    const { model, errors } = buildModel({
      services: wrap([
        svc('a', {
          clusterIP: '10.96.1.1',
          ports: [
            { name: 'http', port: 80, targetPort: 'web' },
            { name: 'm', port: 9090, targetPort: 9090 },
          ],
        }),
      ]),
      endpointSlices: wrap([slice('a-1', 'a', [{ name: 'm', port: 9090 }], [ep('10.244.1.2')])]),
      nodes: [],
      errors: [],
    });
    expect(errors.map((e) => e.field)).toEqual(['spec.ports[0].targetPort']);
    const d = compile(model, NODE, new IdAllocator());
    expect(members(d, '10.96.1.1', 80)).toEqual([]);
    expect(members(d, '10.96.1.1', 9090)).toEqual(['10.244.1.2:9090']);
  });

  it('uses a numeric targetPort when the slice lists no ports or one unnamed port', () => {
    const d = run(
      [svc('a', { clusterIP: '10.96.1.1', ports: [{ name: 'http', port: 80, targetPort: 8080 }] })],
      [
        slice('a-1', 'a', undefined, [ep('10.244.1.2')]),
        slice('a-2', 'a', [{ port: 7777 }], [ep('10.244.1.3')]),
        slice('a-3', 'a', [{ name: 'other', port: 7777 }], [ep('10.244.1.4')]), // names a different port: no match
      ],
    );
    expect(members(d, '10.96.1.1', 80)).toEqual(['10.244.1.2:8080', '10.244.1.3:8080']);
  });

  it('uses the unnamed slice port of an unnamed Service port (what the controller writes)', () => {
    const d = run(
      [svc('a', { clusterIP: '10.96.1.1', ports: [{ port: 80, targetPort: 'web' }] })],
      [slice('a-1', 'a', [{ name: '', port: 8080 }], [ep('10.244.1.2')])],
    );
    expect(members(d, '10.96.1.1', 80)).toEqual(['10.244.1.2:8080']);
  });

  it('merges three slices, de-duplicating an endpoint listed twice', () => {
    const d = run(
      [svc('big', { clusterIP: '10.96.2.1', ports: [{ name: 'http', port: 80 }] })],
      [
        slice(
          'big-c',
          'big',
          [{ name: 'http', port: 8080 }],
          [ep('10.244.3.1'), ep('10.244.1.1', 'node-b', { ready: false })],
        ),
        slice('big-a', 'big', [{ name: 'http', port: 8080 }], [ep('10.244.1.1'), ep('10.244.1.2')]),
        slice('big-b', 'big', [{ name: 'http', port: 8080 }], [ep('10.244.2.1'), ep('10.244.10.1')]),
      ],
    );
    expect(members(d, '10.96.2.1', 80)).toEqual([
      '10.244.1.1:8080',
      '10.244.1.2:8080',
      '10.244.2.1:8080',
      '10.244.3.1:8080',
      '10.244.10.1:8080',
    ]);
  });
});

describe('compile: endpoint selection', () => {
  const service = (spec: Obj = {}) => svc('s', { clusterIP: '10.96.3.1', ports: [{ port: 80 }], ...spec });
  const eps = [
    ep('10.244.1.1'),
    ep('10.244.1.2', 'node-b', { ready: false }),
    ep('10.244.1.3', 'node-b', { ready: false, serving: true, terminating: true }),
    ep('10.244.1.4', 'node-b', { ready: false, serving: false, terminating: true }),
  ];

  it('uses ready endpoints only', () => {
    expect(members(run([service()], [slice('s-1', 's', [{ port: 80 }], eps)]), '10.96.3.1', 80)).toEqual([
      '10.244.1.1:80',
    ]);
  });

  it('falls back to serving terminating endpoints when none is ready', () => {
    const d = run([service()], [slice('s-1', 's', [{ port: 80 }], eps.slice(1))]);
    expect(members(d, '10.96.3.1', 80)).toEqual(['10.244.1.3:80']);
  });

  it('uses nothing when the only endpoints are neither ready nor serving', () => {
    const d = run([service()], [slice('s-1', 's', [{ port: 80 }], [eps[1], eps[3]])]);
    expect(members(d, '10.96.3.1', 80)).toEqual([]);
  });

  it('uses every endpoint with publishNotReadyAddresses', () => {
    const d = run([service({ publishNotReadyAddresses: true })], [slice('s-1', 's', [{ port: 80 }], eps)]);
    expect(members(d, '10.96.3.1', 80)).toEqual(['10.244.1.1:80', '10.244.1.2:80', '10.244.1.3:80', '10.244.1.4:80']);
  });

  it('applies the terminating fallback to the local set on its own', () => {
    const d = run(
      [service({ internalTrafficPolicy: 'Local' })],
      [
        slice(
          's-1',
          's',
          [{ port: 80 }],
          [
            ep('10.244.1.1', 'node-b'),
            ep('10.244.2.1', 'node-a', { ready: false, serving: true, terminating: true }),
            ep('10.244.2.2', 'node-a', { ready: false, serving: false, terminating: true }),
          ],
        ),
      ],
    );
    expect(members(d, '10.96.3.1', 80)).toEqual(['10.244.2.1:80']);
    expect(d.backends.get(d.sets.get(d.frontends[0].setId)![0])!.flags).toBe(BE_LOCAL);
  });

  it('marks nothing local when the node has no name', () => {
    const d = run(
      [service()],
      [slice('s-1', 's', [{ port: 80 }], [{ addresses: ['10.244.1.1'] }])],
      new IdAllocator(),
      { nodeName: '', nodePortAddresses: [] },
    );
    expect([...d.backends.values()].map((b) => b.flags)).toEqual([0]);
  });
});
