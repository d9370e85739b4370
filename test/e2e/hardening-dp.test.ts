// The data-path hardening items end to end (issue 13): 4,000-byte UDP requests and answers (IP
// fragments both ways) through a ClusterIP on one node, and a backend's closed UDP port reaching
// the client as ECONNREFUSED on its connected socket (the ICMP error translated back).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeRoot } from '../lib/root.js';
import { OneNodeCluster } from '../lib/onenode.js';
import { udpBig } from '../lib/udp-big.js';

const VIP = '10.96.101.10';

function manifest(ips: string[]): string {
  return `apiVersion: v1
kind: Service
metadata: {name: big, namespace: default}
spec:
  clusterIP: ${VIP}
  ports:
  - {name: echo, port: 53, targetPort: 5353, protocol: UDP}
  - {name: closed, port: 54, targetPort: 5454, protocol: UDP}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: big-1
  namespace: default
  labels: {kubernetes.io/service-name: big}
addressType: IPv4
ports:
  - {name: echo, port: 5353, protocol: UDP}
  - {name: closed, port: 5454, protocol: UDP}
endpoints:
${ips.map((ip) => `  - addresses: ["${ip}"]\n    conditions: {ready: true}\n    nodeName: node1`).join('\n')}
`;
}

describeRoot('data-path hardening end to end (one node)', () => {
  let c: OneNodeCluster;

  beforeAll(async () => {
    c = new OneNodeCluster();
    const ips = ['big1', 'big2'].map((n) => c.addPod(n));
    c.addPod('client', { serve: false });
    c.writeManifest('big.yaml', manifest(ips));
    c.startAgent();
    await c.waitFor(
      'the ClusterIP to answer',
      () => c.probe('client', ['udp', `${VIP}:53`, '--timeout-ms', '500']).ok === 1,
      20_000,
    );
  });

  afterAll(async () => {
    await c?.destroy();
  });

  it('carries 4,000-byte UDP requests and 4,000-byte answers through a ClusterIP: 20/20', () => {
    const t = udpBig(c.pods.get('client')!.ns, VIP, 53, 4000, 20);
    expect(t.errors).toEqual({});
    expect(t.ok).toBe(20);
    expect(t.answerBytes.every((n) => n > 4000)).toBe(true);
    expect(Object.keys(t.from).every((p) => p.startsWith('big'))).toBe(true);
  });

  it('hairpin: a backend sends itself 4,000-byte datagrams through its own Service', () => {
    const t = udpBig(c.pods.get('big1')!.ns, VIP, 53, 4000, 20);
    expect(t.ok).toBe(20);
  });

  it("reports a backend's closed UDP port as ECONNREFUSED on the client's connected socket", () => {
    const t = udpBig(c.pods.get('client')!.ns, VIP, 54, 100, 3, 1.5);
    expect(t.errors).toEqual({ ECONNREFUSED: 3 });
  });
});
