// NodePort and the multi-node path end to end: two nodes on an underlay, two pods on each, one
// real agent per node (from_pod on the pods' veths, from_netdev on eth0), an external client on
// the underlay that reaches the nodes but not the pods. Real TCP and UDP.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeRoot } from '../lib/root.js';
import { EXTERNAL_ADDRESS, MultiNodeCluster } from '../lib/multinode.js';
import { ip } from '../../src/lab/namespaces.js';

const EXTERNAL_IP = '10.99.0.1';

interface Ep {
  pod: string;
  node: string;
}

function service(name: string, spec: string): string {
  return `apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: default}
spec:
${spec}`;
}

function slice(svc: string, eps: Array<Ep & { ip: string }>): string {
  return `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: ${svc}-1
  namespace: default
  labels: {kubernetes.io/service-name: ${svc}}
addressType: IPv4
ports:
  - {name: http, port: 80, protocol: TCP}
  - {name: echo, port: 5353, protocol: UDP}
endpoints:
${eps.map((e) => `  - addresses: ["${e.ip}"]\n    conditions: {ready: true}\n    nodeName: ${e.node}`).join('\n')}
`;
}

const PORTS = `  ports:
  - {name: http, port: 80, targetPort: 80, protocol: TCP, nodePort: PORT_TCP}
  - {name: echo, port: 53, targetPort: 5353, protocol: UDP, nodePort: PORT_UDP}
`;
const ports = (tcp: number, udp: number) => PORTS.replace('PORT_TCP', String(tcp)).replace('PORT_UDP', String(udp));

describeRoot('NodePort and the multi-node path, end to end (2 nodes, an agent on each)', () => {
  let c: MultiNodeCluster;
  let n1 = '',
    n2 = '';
  const ALL = ['web1', 'web2', 'web3', 'web4'];

  beforeAll(async () => {
    c = new MultiNodeCluster(2);
    n1 = c.node('node1').address;
    n2 = c.node('node2').address;
    c.addPod('node1', 'web1');
    c.addPod('node1', 'web2');
    c.addPod('node2', 'web3');
    c.addPod('node2', 'web4');
    c.addPod('node1', 'client1', { serve: false });
    c.addPod('node2', 'client2', { serve: false });
    const ep = (pod: string) => ({ pod, node: c.pod(pod).node, ip: c.pod(pod).ip });

    // Cluster policy, endpoints on both nodes.
    c.writeManifest(
      'web.yaml',
      `${service('web', `  type: NodePort\n  clusterIP: 10.96.100.10\n${ports(30080, 30053)}`)}---\n${slice('web', ALL.map(ep))}`,
    );
    // Local policy, endpoints on both nodes (each node serves its own).
    c.writeManifest(
      'local.yaml',
      `${service('local', `  type: NodePort\n  clusterIP: 10.96.100.11\n  externalTrafficPolicy: Local\n  healthCheckNodePort: 32001\n${ports(30081, 30054)}`)}---\n${slice('local', ['web1', 'web3'].map(ep))}`,
    );
    // Local policy, endpoints on node1 only: node2 has nothing to offer.
    c.writeManifest(
      'only1.yaml',
      `${service('only1', `  type: NodePort\n  clusterIP: 10.96.100.12\n  externalTrafficPolicy: Local\n  healthCheckNodePort: 32002\n${ports(30082, 30055)}`)}---\n${slice('only1', ['web1', 'web2'].map(ep))}`,
    );
    // An external IP, routed by the client to node1.
    c.writeManifest(
      'ext.yaml',
      `${service('ext', `  clusterIP: 10.96.100.13\n  externalIPs: ["${EXTERNAL_IP}"]\n${PORTS.replace(/, nodePort: PORT_\w+/g, '')}`)}---\n${slice('ext', ALL.map(ep))}`,
    );
    // A ClusterIP whose backends are all on node2.
    c.writeManifest(
      'remote.yaml',
      `${service('remote', `  clusterIP: 10.96.100.14\n${PORTS.replace(/, nodePort: PORT_\w+/g, '')}`)}---\n${slice('remote', ['web3', 'web4'].map(ep))}`,
    );

    c.startAgents();
    await c.waitFor(
      'the NodePort to answer on both nodes',
      () =>
        [n1, n2].every(
          (n) =>
            c.probe(c.externalNs, ['http', `http://${n}:30080/hostname.html`, '--count', '4', '--timeout-ms', '1000'])
              .ok === 4,
        ),
      30_000,
    );
  });

  afterAll(async () => {
    await c?.destroy();
  });

  for (const [node, addr] of [
    ['node1', () => n1],
    ['node2', () => n2],
  ] as const) {
    it(`reaches every backend through ${node}'s NodePort from outside: 200 new connections, all answered`, () => {
      const r = c.probe(c.externalNs, ['http', `http://${addr()}:30080/hostname.html`, '--count', '200']);
      expect(r.errors).toEqual({});
      expect(r.ok).toBe(200);
      expect(Object.keys(r.answers).sort()).toEqual(ALL);
    });
  }

  it('SNATs to the node only for backends on the other node; local backends see the client', () => {
    const r = c.probe(c.externalNs, ['http', `http://${n1}:30080/clientip`, '--count', '80']);
    expect(r.failed).toBe(0);
    const seen = Object.keys(r.answers).sort();
    expect(seen).toEqual([`web1 ${EXTERNAL_ADDRESS}`, `web2 ${EXTERNAL_ADDRESS}`, `web3 ${n1}`, `web4 ${n1}`]);
  });

  it('answers UDP through a NodePort, remote backends included', () => {
    const r = c.probe(c.externalNs, ['udp', `${n2}:30053`, '--count', '60']);
    expect(r.failed).toBe(0);
    expect(Object.keys(r.answers).sort()).toEqual(ALL);
  });

  it("externalTrafficPolicy Local: only the node's own backends answer, and they see the client's address", () => {
    for (const [addr, own] of [
      [n1, 'web1'],
      [n2, 'web3'],
    ] as const) {
      const r = c.probe(c.externalNs, ['http', `http://${addr}:30081/clientip`, '--count', '40']);
      expect(r.failed).toBe(0);
      expect(r.answers).toEqual({ [`${own} ${EXTERNAL_ADDRESS}`]: 40 });
    }
  });

  it('externalTrafficPolicy Local without a local endpoint: no answer at all (dropped, not refused)', () => {
    const via1 = c.probe(c.externalNs, ['http', `http://${n1}:30082/hostname.html`, '--count', '20']);
    expect(via1.ok).toBe(20);
    expect(Object.keys(via1.answers).sort()).toEqual(['web1', 'web2']);
    const via2 = c.probe(c.externalNs, [
      'http',
      `http://${n2}:30082/hostname.html`,
      '--count',
      '2',
      '--timeout-ms',
      '1000',
    ]);
    expect(via2.ok).toBe(0);
    expect(via2.errors).toEqual({ timeout: 2 });
  });

  it('serves the healthCheckNodePort: 200 where the Service has local endpoints, 503 where not', () => {
    expect(c.httpStatus(c.externalNs, `http://${n1}:32002/`)).toBe(200);
    expect(c.httpStatus(c.externalNs, `http://${n2}:32002/`)).toBe(503);
    expect(c.httpStatus(c.externalNs, `http://${n1}:32001/`)).toBe(200);
    expect(c.httpStatus(c.externalNs, `http://${n2}:32001/`)).toBe(200);
    // The node's own ports pass the uplink program untouched: the agent's /healthz answers too.
    expect(c.httpStatus(c.externalNs, `http://${n2}:10256/healthz`)).toBe(200);
  });

  it('answers an external IP from outside (routed to node1 by the client), remote backends included', () => {
    // The client's route to the external IP, as a router announcing it would give (in the
    // external client's namespace, which this run made).
    ip('-n', c.externalNs, 'route', 'add', `${EXTERNAL_IP}/32`, 'via', n1);
    try {
      const r = c.probe(c.externalNs, ['http', `http://${EXTERNAL_IP}/hostname.html`, '--count', '100']);
      expect(r.errors).toEqual({});
      expect(Object.keys(r.answers).sort()).toEqual(ALL);
      const ip = c.probe(c.externalNs, ['http', `http://${EXTERNAL_IP}/clientip`, '--count', '40']);
      expect(ip.failed).toBe(0);
      for (const answer of Object.keys(ip.answers)) {
        const [pod, seen] = answer.split(' ');
        expect(seen).toBe(c.pod(pod).node === 'node1' ? EXTERNAL_ADDRESS : n1);
      }
    } finally {
      ip('-n', c.externalNs, 'route', 'del', `${EXTERNAL_IP}/32`);
    }
  });

  it('takes a pod on node1 to a ClusterIP whose backends are on node2, and back', () => {
    const r = c.probe(c.pod('client1').ns, ['http', 'http://10.96.100.14/clientip', '--count', '60']);
    expect(r.errors).toEqual({});
    expect(Object.keys(r.answers).sort()).toEqual([`web3 ${c.pod('client1').ip}`, `web4 ${c.pod('client1').ip}`]);
    const u = c.probe(c.pod('client1').ns, ['udp', '10.96.100.14:53', '--count', '20']);
    expect(u.failed).toBe(0);
    expect(Object.keys(u.answers).sort()).toEqual(['web3', 'web4']);
  });

  it("takes a pod on node2 through node1's NodePort, and a pod on node1 through its own node's NodePort", () => {
    const r = c.probe(c.pod('client2').ns, ['http', `http://${n1}:30080/hostname.html`, '--count', '60']);
    expect(r.errors).toEqual({});
    expect(Object.keys(r.answers).sort()).toEqual(ALL);
    const own = c.probe(c.pod('client1').ns, ['http', `http://${n1}:30080/hostname.html`, '--count', '60']);
    expect(own.errors).toEqual({});
    expect(Object.keys(own.answers).sort()).toEqual(ALL);
  });
});
