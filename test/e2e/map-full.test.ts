// A full map fails one Service, not the sync: an agent whose maps are sized for 2 frontends
// (--bpf-lb-map-max 2) is given 4 ClusterIP Services. The first two (in svc id order) answer; the
// others are reported by name with the full map and counted in the metrics. Removing one
// programmed Service frees room, and a skipped one takes it; nothing programmed is ever lost.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeRoot } from '../lib/root.js';
import { OneNodeCluster } from '../lib/onenode.js';
import { nsRun } from '../../src/lab/namespaces.js';

const NAMES = ['a', 'b', 'c', 'd'];
const vip = (name: string) => `10.96.101.${10 + NAMES.indexOf(name)}`;

function service(name: string, backend: string): string {
  return `apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: default}
spec:
  clusterIP: ${vip(name)}
  ports: [{name: http, port: 80, targetPort: 80, protocol: TCP}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: ${name}-1, namespace: default, labels: {kubernetes.io/service-name: ${name}}}
addressType: IPv4
ports: [{name: http, port: 80, protocol: TCP}]
endpoints: [{addresses: ["${backend}"], conditions: {ready: true}, nodeName: node1}]
`;
}

describeRoot('a full map fails one Service, not the sync', () => {
  let c: OneNodeCluster;
  const answers = (name: string) =>
    c.probe('client', ['http', `http://${vip(name)}/hostname.html`, '--count', '1', '--timeout-ms', '700']).ok === 1;
  const metrics = () => nsRun(c.nodeNs, ['curl', '-s', 'http://127.0.0.1:10249/metrics']);

  beforeAll(async () => {
    c = new OneNodeCluster();
    const web = c.addPod('web');
    c.addPod('client', { serve: false });
    for (const name of NAMES) c.writeManifest(`${name}.yaml`, service(name, web));
    c.startAgent({ extraArgs: ['--bpf-lb-map-max', '2'] });
    await c.waitFor('the first Service to answer', () => answers('a'), 20_000);
  });

  afterAll(async () => {
    await c?.destroy();
  });

  it('programs the ports that fit, reports the others by name and map, and counts them', async () => {
    expect(answers('b')).toBe(true);
    expect(answers('c')).toBe(false);
    expect(answers('d')).toBe(false);
    const log = c.agentLogText();
    for (const name of ['c', 'd']) {
      expect(log).toContain(
        `service port default/${name}:http/TCP not programmed: map 'frontends' is full (max 2 entries`,
      );
    }
    expect(log).not.toContain('sync failed');
    await c.waitFor('the metric', () => /switchyard_map_full_service_ports\{map="frontends"\} 2/.test(metrics()));
    expect(metrics()).toMatch(/switchyard_service_ports 2\b/);
  });

  it('gives the room a removed Service frees to a skipped one, and keeps the rest programmed', async () => {
    c.removeManifest('a.yaml');
    await c.waitFor('a skipped Service to take the freed room', () => answers('c'));
    expect(answers('a')).toBe(false);
    expect(answers('b')).toBe(true);
    expect(answers('d')).toBe(false);
    await c.waitFor('the metric to follow', () =>
      /switchyard_map_full_service_ports\{map="frontends"\} 1/.test(metrics()),
    );
  });
});
