// ClientIP affinity through a NodePort, from a client outside the cluster: the node SNATs flows
// to backends on the other node, and affinity must still key on the real client.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeRoot } from '../lib/root.js';
import { MultiNodeCluster } from '../lib/multinode.js';

const PODS = ['web1', 'web2', 'web3', 'web4'];

describeRoot('ClientIP affinity through a NodePort, from outside', () => {
  let c: MultiNodeCluster;
  const url = (node: string) => `http://${c.node(node).address}:30090/hostname.html`;
  const answers = (node: string, count: number) => {
    const r = c.probe(c.externalNs, ['http', url(node), '--count', String(count)]);
    expect(r.failed).toBe(0);
    return Object.keys(r.answers).sort();
  };

  function writeService(affinity: 'ClientIP' | 'None'): void {
    const ep = (pod: string) =>
      `  - addresses: ["${c.pod(pod).ip}"]\n    conditions: {ready: true}\n    nodeName: ${c.pod(pod).node}`;
    c.writeManifest(
      'sticky.yaml',
      `apiVersion: v1
kind: Service
metadata: {name: sticky, namespace: default}
spec:
  type: NodePort
  clusterIP: 10.96.100.40
  sessionAffinity: ${affinity}
  ports: [{name: http, port: 80, targetPort: 80, protocol: TCP, nodePort: 30090}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: sticky-1, namespace: default, labels: {kubernetes.io/service-name: sticky}}
addressType: IPv4
ports: [{name: http, port: 80, protocol: TCP}]
endpoints:
${PODS.map(ep).join('\n')}
`,
    );
  }

  beforeAll(async () => {
    c = new MultiNodeCluster(2);
    for (const [i, pod] of PODS.entries()) c.addPod(i < 2 ? 'node1' : 'node2', pod);
    writeService('ClientIP');
    c.startAgents();
    await c.waitFor(
      'the NodePort to answer on both nodes',
      () => ['node1', 'node2'].every((n) => c.probe(c.externalNs, ['http', url(n), '--timeout-ms', '1000']).ok === 1),
      30_000,
    );
  });

  afterAll(async () => {
    await c?.destroy();
  });

  it('sends 50 connections from one outside client to one backend, through each node', () => {
    for (const node of ['node1', 'node2']) expect(answers(node, 50)).toHaveLength(1);
  });

  it('spreads again when the live Service switches to None, and sticks when it switches back', async () => {
    writeService('None');
    await c.waitFor('connections to spread', () => answers('node1', 40).length >= 3);
    writeService('ClientIP');
    await c.waitFor('connections to stick again', () => answers('node1', 10).length === 1);
    expect(answers('node1', 40)).toHaveLength(1);
  });
});
