// compile: NodePort / external IP / LoadBalancer frontends, traffic policies, affinity, health
// checks and frontend conflicts.
import { describe, expect, it } from 'vitest';
import {
  FE_LOCAL_ONLY,
  FE_NODEPORT,
  FE_SOURCE_RANGES,
  IPPROTO_TCP,
  SCOPE_EXTERNAL,
  SCOPE_INTERNAL,
} from '../../src/abi/index.js';
import { compile, IdAllocator, type DesiredState, type NodeConfig } from '../../src/compile/index.js';
import { buildModel } from '../../src/model/index.js';
import { addrPort } from '../../src/net/ipv6.js';

type Obj = Record<string, unknown>;
const NODE: NodeConfig = {
  nodeName: 'node-a',
  nodePortAddresses: ['172.16.0.12', '192.168.1.12', 'fd00::12', '172.16.0.12'],
};

function svc(name: string, spec: Obj, status?: Obj, namespace = 'default'): Obj {
  return { kind: 'Service', metadata: { name, namespace }, spec, ...(status ? { status } : {}) };
}
function slice(name: string, service: string, endpoints: Obj[]): Obj {
  return {
    kind: 'EndpointSlice',
    metadata: { name, labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    endpoints,
  };
}
const ep = (addr: string, nodeName: string, conditions?: Obj): Obj => ({
  addresses: [addr],
  nodeName,
  ...(conditions ? { conditions } : {}),
});
function run(services: Obj[], slices: Obj[] = [], node = NODE): DesiredState {
  const wrap = (objs: Obj[]) => objs.map((object) => ({ object, origin: 'test.yaml' }));
  const { model, errors } = buildModel({
    services: wrap(services),
    endpointSlices: wrap(slices),
    nodes: [],
    errors: [],
  });
  expect(errors).toEqual([]);
  return compile(model, node, new IdAllocator());
}
/** frontends as compact rows: addr:port scope flags set-members */
function rows(d: DesiredState): string[] {
  const names = (setId: number) =>
    d.sets
      .get(setId)!
      .map((id) => d.backends.get(id)!.addr)
      .join(',');
  const fl = (f: number) =>
    [f & FE_NODEPORT ? 'NP' : '', f & FE_LOCAL_ONLY ? 'LO' : '', f & FE_SOURCE_RANGES ? 'SR' : '']
      .filter(Boolean)
      .join('|') || '-';
  return d.frontends.map(
    (f) =>
      `${addrPort(f.key.addr, f.key.port)} ${f.key.scope === SCOPE_EXTERNAL ? 'ext' : 'int'} ${fl(f.flags)} [${names(f.setId)}]`,
  );
}

const twoNodes = [slice('s-1', 'myapp', [ep('10.244.1.55', 'node-a'), ep('10.244.2.41', 'node-b')])];
const nodePortSpec = {
  type: 'NodePort',
  clusterIP: '10.99.99.99',
  ports: [{ port: 80, targetPort: 80, nodePort: 30080 }],
};

describe('compile: NodePort', () => {
  it('answers on every node address of its family in both scopes, plus the cluster IP', () => {
    const d = run([svc('myapp', nodePortSpec)], twoNodes);
    // fd00::12 is not among them: an IPv4-only Service has no IPv6 frontend, as in kube-proxy.
    expect(rows(d)).toEqual([
      '10.99.99.99:80 int - [10.244.1.55,10.244.2.41]',
      '172.16.0.12:30080 int NP [10.244.1.55,10.244.2.41]',
      '172.16.0.12:30080 ext NP [10.244.1.55,10.244.2.41]',
      '192.168.1.12:30080 int NP [10.244.1.55,10.244.2.41]',
      '192.168.1.12:30080 ext NP [10.244.1.55,10.244.2.41]',
    ]);
    expect(new Set(d.frontends.map((f) => f.setId)).size).toBe(1); // one "all" set; "local" unused, not emitted
    expect(d.sets.size).toBe(1);
    expect(d.services.get(1)).toMatchObject({
      type: 'NodePort',
      nodePort: 30080,
      sets: { all: 1 },
      frontends: ['10.99.99.99:80/TCP', '172.16.0.12:30080/TCP', '192.168.1.12:30080/TCP'],
    });
  });

  it('answers a dual-stack NodePort on the node addresses of both families, each with its endpoints', () => {
    const v6 = {
      ...slice('s-6', 'myapp', [ep('fd10:1::55', 'node-a'), ep('fd10:2::41', 'node-b')]),
      addressType: 'IPv6',
    };
    const spec = {
      ...nodePortSpec,
      clusterIPs: ['10.99.99.99', 'fd00:96::99'],
      externalTrafficPolicy: 'Local',
      externalIPs: ['192.0.2.7', '2001:db8::7'],
    };
    const d = run([svc('myapp', spec)], [...twoNodes, v6]);
    expect(rows(d)).toEqual([
      '10.99.99.99:80 int - [10.244.1.55,10.244.2.41]',
      '172.16.0.12:30080 int NP [10.244.1.55,10.244.2.41]',
      '172.16.0.12:30080 ext NP|LO [10.244.1.55]',
      '192.0.2.7:80 int NP [10.244.1.55,10.244.2.41]',
      '192.0.2.7:80 ext NP|LO [10.244.1.55]',
      '192.168.1.12:30080 int NP [10.244.1.55,10.244.2.41]',
      '192.168.1.12:30080 ext NP|LO [10.244.1.55]',
      '[2001:db8::7]:80 int NP [fd10:1::55,fd10:2::41]',
      '[2001:db8::7]:80 ext NP|LO [fd10:1::55]',
      '[fd00::12]:30080 int NP [fd10:1::55,fd10:2::41]',
      '[fd00::12]:30080 ext NP|LO [fd10:1::55]',
      '[fd00:96::99]:80 int - [fd10:1::55,fd10:2::41]',
    ]);
    expect(Object.keys(d.services.get(1)!.sets).sort()).toEqual(['all', 'all6', 'local', 'local6']);
  });

  it('uses local endpoints from outside under externalTrafficPolicy Local, every endpoint from inside', () => {
    const d = run([svc('myapp', { ...nodePortSpec, externalTrafficPolicy: 'Local' })], twoNodes, {
      nodeName: 'node-a',
      nodePortAddresses: ['172.16.0.12'],
    });
    expect(rows(d)).toEqual([
      '10.99.99.99:80 int - [10.244.1.55,10.244.2.41]',
      '172.16.0.12:30080 int NP [10.244.1.55,10.244.2.41]',
      '172.16.0.12:30080 ext NP|LO [10.244.1.55]',
    ]);
    expect(d.services.get(1)!.sets).toEqual({ all: 1, local: 2 });
  });

  it('drops (LOCAL_ONLY, empty set) rather than forwarding when the node has no local endpoint', () => {
    const d = run([svc('myapp', { ...nodePortSpec, externalTrafficPolicy: 'Local' })], twoNodes, {
      nodeName: 'node-c',
      nodePortAddresses: ['172.16.0.13'],
    });
    expect(rows(d)).toContain('172.16.0.13:30080 ext NP|LO []');
  });

  it('opens no node port for a Service without one (allocateLoadBalancerNodePorts false)', () => {
    const d = run([
      svc(
        'lb',
        { type: 'LoadBalancer', clusterIP: '10.96.5.1', ports: [{ port: 443 }] },
        { loadBalancer: { ingress: [{ ip: '198.51.100.7' }] } },
      ),
    ]);
    expect(rows(d)).toEqual(['10.96.5.1:443 int - []', '198.51.100.7:443 int NP []', '198.51.100.7:443 ext NP []']);
  });
});

describe('compile: internalTrafficPolicy', () => {
  it('sends ClusterIP traffic to local endpoints only, dropping when there is none', () => {
    const d = run([svc('myapp', { ...nodePortSpec, internalTrafficPolicy: 'Local' })], twoNodes, {
      nodeName: 'node-a',
      nodePortAddresses: ['172.16.0.12'],
    });
    expect(rows(d)).toEqual([
      '10.99.99.99:80 int LO [10.244.1.55]',
      '172.16.0.12:30080 int NP [10.244.1.55,10.244.2.41]', // node ports are external traffic: iTP does not apply
      '172.16.0.12:30080 ext NP [10.244.1.55,10.244.2.41]',
    ]);
  });
});

describe('compile: external IPs and load balancers', () => {
  it('programs external IPs and LB ingress IPs on the service port, with source ranges on LB IPs', () => {
    const d = run(
      [
        svc(
          'lb',
          {
            type: 'LoadBalancer',
            clusterIP: '10.96.5.2',
            externalIPs: ['192.0.2.10'],
            loadBalancerSourceRanges: ['203.0.113.0/24'],
            ports: [{ port: 443, nodePort: 31443 }],
          },
          { loadBalancer: { ingress: [{ ip: '198.51.100.7' }] } },
        ),
      ],
      [],
      { nodeName: 'node-a', nodePortAddresses: ['172.16.0.12'] },
    );
    expect(rows(d)).toEqual([
      '10.96.5.2:443 int - []',
      '172.16.0.12:31443 int NP []',
      '172.16.0.12:31443 ext NP []',
      '192.0.2.10:443 int NP []',
      '192.0.2.10:443 ext NP []',
      '198.51.100.7:443 int NP|SR []',
      '198.51.100.7:443 ext NP|SR []',
    ]);
    expect(d.services.get(1)!.sourceRanges).toEqual(['203.0.113.0/24']);
  });

  it('applies externalTrafficPolicy Local to external and LB IPs', () => {
    const d = run(
      [
        svc(
          'lb',
          {
            type: 'LoadBalancer',
            clusterIP: '10.96.5.3',
            externalIPs: ['192.0.2.11'],
            externalTrafficPolicy: 'Local',
            ports: [{ port: 80 }],
          },
          { loadBalancer: { ingress: [{ ip: '198.51.100.8' }] } },
        ),
      ],
      [slice('lb-1', 'lb', [ep('10.244.1.1', 'node-a'), ep('10.244.2.1', 'node-b')])],
    );
    expect(rows(d).filter((r) => r.includes(' ext '))).toEqual([
      '192.0.2.11:80 ext NP|LO [10.244.1.1]',
      '198.51.100.8:80 ext NP|LO [10.244.1.1]',
    ]);
  });

  it('ignores load-balancer status on a Service that is not type LoadBalancer', () => {
    const d = run([
      svc(
        'c',
        { clusterIP: '10.96.5.4', ports: [{ port: 80 }] },
        { loadBalancer: { ingress: [{ ip: '198.51.100.9' }] } },
      ),
    ]);
    expect(d.frontends.map((f) => f.key.addr)).toEqual(['10.96.5.4']);
  });

  it('programs an address listed twice once', () => {
    const d = run([
      svc(
        'lb',
        { type: 'LoadBalancer', clusterIP: '10.96.5.5', externalIPs: ['198.51.100.10'], ports: [{ port: 80 }] },
        { loadBalancer: { ingress: [{ ip: '198.51.100.10' }] } },
      ),
    ]);
    expect(d.frontends).toHaveLength(3);
    expect(d.conflicts).toEqual([]);
  });
});

describe('compile: session affinity', () => {
  it('is off (0) without ClientIP, 10800 s by default with it, and custom when set', () => {
    const d = run(
      [
        svc('a', { clusterIP: '10.96.6.1', ports: [{ port: 80 }] }),
        svc('b', { clusterIP: '10.96.6.2', ports: [{ port: 80 }], sessionAffinity: 'ClientIP' }),
        svc('c', {
          type: 'NodePort',
          clusterIP: '10.96.6.3',
          ports: [{ port: 80, nodePort: 30003 }],
          sessionAffinity: 'ClientIP',
          sessionAffinityConfig: { clientIP: { timeoutSeconds: 30 } },
        }),
      ],
      [],
      { nodeName: 'node-a', nodePortAddresses: ['172.16.0.12'] },
    );
    const byAddr = Object.fromEntries(
      d.frontends.map((f) => [`${f.key.addr}:${f.key.port}/${f.key.scope}`, f.affinityTimeout]),
    );
    expect(byAddr).toEqual({
      '10.96.6.1:80/0': 0,
      '10.96.6.2:80/0': 10800,
      '10.96.6.3:80/0': 30,
      '172.16.0.12:30003/0': 30,
      '172.16.0.12:30003/1': 30,
    });
    expect([...d.services.values()].map((s) => s.affinityTimeout)).toEqual([0, 10800, 30]);
  });
});

describe('compile: health check node ports', () => {
  it('lists eTP Local Services with a healthCheckNodePort and counts local ready endpoints', () => {
    const d = run(
      [
        svc('lb', {
          type: 'LoadBalancer',
          clusterIP: '10.96.7.1',
          externalTrafficPolicy: 'Local',
          healthCheckNodePort: 32000,
          ports: [{ port: 80 }],
        }),
        svc('cluster', {
          type: 'LoadBalancer',
          clusterIP: '10.96.7.2',
          healthCheckNodePort: 32001,
          ports: [{ port: 80 }],
        }),
      ],
      [
        slice('lb-1', 'lb', [
          ep('10.244.1.1', 'node-a'),
          ep('10.244.1.2', 'node-a', { ready: false, serving: true, terminating: true }),
          ep('10.244.2.1', 'node-b'),
        ]),
      ],
    );
    expect(d.healthCheck).toEqual([{ namespace: 'default', name: 'lb', nodePort: 32000, localEndpoints: 1 }]);
  });
});

describe('compile: frontend conflicts', () => {
  it('keeps a cluster IP for the first Service by namespace/name and reports the other', () => {
    const d = run([
      svc('zeta', { clusterIP: '10.96.8.1', ports: [{ port: 80 }] }),
      svc('alpha', { clusterIP: '10.96.8.1', ports: [{ port: 80 }] }),
    ]);
    expect(d.frontends).toHaveLength(1);
    expect(d.services.get(d.frontends[0].svcId)!.name).toBe('alpha');
    expect(d.services.size).toBe(1);
    expect(d.conflicts.map((e) => e.describe())).toEqual([
      'test.yaml: Service default/zeta: spec.ports[0].port: frontend 10.96.8.1:80/TCP is already taken by Service default/alpha (port 80); not programmed for this port',
    ]);
  });

  it('orders by namespace before name', () => {
    const d = run([
      svc('a', { clusterIP: '10.96.8.2', ports: [{ port: 80 }] }, undefined, 'b-ns'),
      svc('z', { clusterIP: '10.96.8.2', ports: [{ port: 80 }] }, undefined, 'a-ns'),
    ]);
    expect(d.services.get(d.frontends[0].svcId)!.namespace).toBe('a-ns');
    expect(d.conflicts.map((e) => `${e.namespace}/${e.name}`)).toEqual(['b-ns/a']);
  });

  it("reports a nodePort used by two Services once per address, and keeps the loser's other frontends", () => {
    const d = run([
      svc('one', { type: 'NodePort', clusterIP: '10.96.8.3', ports: [{ port: 80, nodePort: 30080 }] }),
      svc('two', { type: 'NodePort', clusterIP: '10.96.8.4', ports: [{ name: 'web', port: 80, nodePort: 30080 }] }),
    ]);
    expect(d.conflicts.map((e) => `${e.name} ${e.field}: ${e.message}`)).toEqual([
      'two spec.ports[0].nodePort: frontend 172.16.0.12:30080/TCP is already taken by Service default/one (port 80); not programmed for this port',
      'two spec.ports[0].nodePort: frontend 192.168.1.12:30080/TCP is already taken by Service default/one (port 80); not programmed for this port',
    ]);
    expect(d.conflicts.every((e) => !e.rejected)).toBe(true);
    const two = [...d.services.values()].find((s) => s.name === 'two')!;
    expect(two.frontends).toEqual(['10.96.8.4:80/TCP']);
  });

  it('allows the same nodePort for TCP and UDP', () => {
    const d = run([
      svc('one', { type: 'NodePort', clusterIP: '10.96.8.5', ports: [{ port: 53, nodePort: 30053 }] }),
      svc('two', { type: 'NodePort', clusterIP: '10.96.8.6', ports: [{ port: 53, protocol: 'UDP', nodePort: 30053 }] }),
    ]);
    expect(d.conflicts).toEqual([]);
  });

  it('sorts frontends by address numerically, then port, protocol and scope', () => {
    const d = run([
      svc('b', { clusterIP: '10.96.10.1', ports: [{ port: 80 }] }),
      svc('a', {
        clusterIP: '10.96.9.1',
        ports: [
          { name: 'y', port: 443 },
          { name: 'x', port: 80 },
        ],
      }),
    ]);
    expect(d.frontends.map((f) => `${f.key.addr}:${f.key.port}`)).toEqual([
      '10.96.9.1:80',
      '10.96.9.1:443',
      '10.96.10.1:80',
    ]);
    expect(d.frontends.every((f) => f.key.proto === IPPROTO_TCP && f.key.scope === SCOPE_INTERNAL)).toBe(true);
  });
});
