// The agent following an API server (the double, speaking the real list/watch protocol) with
// --kubeconfig, on one node with real pods: create, scale, API outage, API restart.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeRoot } from '../lib/root.js';
import { OneNodeCluster } from '../lib/onenode.js';
import { LabApi } from '../../src/lab/lab-api.js';
import { DEFAULT_TOKEN, type KubeObject } from '../../src/fakeapi/server.js';

const VIP = '10.96.200.10';
const URL_ = `http://${VIP}/hostname.html`;

const service = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'web', namespace: 'default' },
  spec: { type: 'ClusterIP', clusterIP: VIP, ports: [{ name: 'http', port: 80, targetPort: 80, protocol: 'TCP' }] },
} as unknown as KubeObject;

const slice = (ips: string[]) =>
  ({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'web-1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
    endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true }, nodeName: 'node1' })),
  }) as unknown as KubeObject;

describeRoot('agent on the Kubernetes API (--kubeconfig)', () => {
  let c: OneNodeCluster;
  let api: LabApi;
  const ips: string[] = [];
  const answeredBy = (count = 40) =>
    Object.keys(c.probe('client', ['http', URL_, '--count', String(count)]).answers).sort();

  beforeAll(async () => {
    c = new OneNodeCluster();
    for (const name of ['web1', 'web2', 'web3']) ips.push(c.addPod(name));
    c.addPod('client', { serve: false });
    const kubeconfig = await c.startApiServer();
    api = new LabApi(c.apiSocket, DEFAULT_TOKEN);
    await api.apply({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node1' } } as unknown as KubeObject);
    c.startAgent({ kubeconfig });
  });

  afterAll(async () => {
    await c?.destroy();
  });

  it('serves a ClusterIP created through the API', async () => {
    await api.apply(service);
    await api.apply(slice(ips.slice(0, 2)));
    await c.waitFor('the ClusterIP to answer', () => c.probe('client', ['http', URL_]).ok === 1, 20_000);
    expect(answeredBy()).toEqual(['web1', 'web2']);
  });

  it('moves new connections when endpoints are scaled through the API', async () => {
    await api.apply(slice(ips));
    await c.waitFor('web3 to be reached', () => answeredBy(30).includes('web3'));
    await api.apply(slice([ips[2]]));
    await c.waitFor('only web3 to answer', () => answeredBy(20).join() === 'web3');
  });

  it('keeps traffic flowing while the API server is down, and resyncs when it is back', async () => {
    const syncs = () =>
      c
        .agentLogText()
        .split('\n')
        .filter((l) => l.includes('"sync applied"'));
    await c.stopApiServer();
    const during = c.probe('client', ['http', URL_, '--count', '30']);
    expect(during.failed).toBe(0);
    expect(Object.keys(during.answers)).toEqual(['web3']);

    const before = syncs().length;
    await c.startApiServer();
    // The informers relist against the restarted server and sync: same objects, so no writes.
    await c.waitFor('a sync after the API server came back', () => syncs().length > before, 20_000);
    expect(JSON.parse(syncs().at(-1)!)).toMatchObject({ writes: 0, deletes: 0 });
    expect(answeredBy(10)).toEqual(['web3']);
    await api.apply(slice([ips[0]]));
    await c.waitFor('the change made after the restart to apply', () => answeredBy(20).join() === 'web1', 20_000);
  });
});
