// Fragments through a NodePort whose backend is on the other node (issue 13): 4,000-byte UDP
// requests and answers from a client outside, DNAT + SNAT on node1, every fragment both ways.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeRoot } from '../lib/root.js';
import { MultiNodeCluster } from '../lib/multinode.js';
import { udpBig } from '../lib/udp-big.js';

describeRoot('fragments through a NodePort to a remote backend (2 nodes)', () => {
  let c: MultiNodeCluster;
  let n1 = '';

  beforeAll(async () => {
    c = new MultiNodeCluster(2);
    n1 = c.node('node1').address;
    c.addPod('node2', 'far1');
    const p = c.pod('far1');
    c.writeManifest(
      'far.yaml',
      `apiVersion: v1
kind: Service
metadata: {name: far, namespace: default}
spec:
  type: NodePort
  clusterIP: 10.96.100.40
  ports:
  - {name: echo, port: 53, targetPort: 5353, protocol: UDP, nodePort: 30090}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: far-1
  namespace: default
  labels: {kubernetes.io/service-name: far}
addressType: IPv4
ports:
  - {name: echo, port: 5353, protocol: UDP}
endpoints:
  - addresses: ["${p.ip}"]
    conditions: {ready: true}
    nodeName: ${p.node}
`,
    );
    c.startAgents();
    await c.waitFor(
      'the NodePort to answer',
      () => c.probe(c.externalNs, ['udp', `${n1}:30090`, '--timeout-ms', '500']).ok === 1,
      30_000,
    );
  });

  afterAll(async () => {
    await c?.destroy();
  });

  it('carries 4,000-byte UDP requests and answers through node1 to a backend on node2: 20/20', () => {
    const t = udpBig(c.externalNs, n1, 30090, 4000, 20);
    expect(t.errors).toEqual({});
    expect(t.ok).toBe(20);
    expect(t.from).toEqual({ far1: 20 });
  });
});
