// The whole control plane against the API-server double, down to real (unpinned) BPF maps:
// informers → model → compile → reconcile, through changes, faults and a burst.
import { afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { pino } from 'pino';
import { BpfObject, silenceLibbpf } from '../../src/bpf/index.js';
import { dataplaneMaps, type DataplaneMaps } from '../../src/dataplane/maps.js';
import { Reconciler } from '../../src/dataplane/reconciler.js';
import { Pipeline } from '../../src/agent/pipeline.js';
import { FakeApiServer, accessFor } from '../../src/fakeapi/server.js';
import { ApiClient } from '../../src/k8s/client.js';
import { KubeSource } from '../../src/k8s/source.js';
import { mapContents } from '../../src/inspect/read.js';
import { servicesView } from '../../src/inspect/views.js';
import { describeRoot } from '../lib/root.js';
import { waitFor } from '../lib/wait.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const NODE = 'node1';

const service = (name: string, ip: string) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: 'default' },
  spec: { type: 'ClusterIP', clusterIP: ip, ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] },
});
const slice = (svc: string, name: string, ips: string[]) => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { name, namespace: 'default', labels: { 'kubernetes.io/service-name': svc } },
  addressType: 'IPv4',
  ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true }, nodeName: NODE })),
});

describeRoot('control plane against the API-server double, into real maps', () => {
  let obj: BpfObject;
  let maps: DataplaneMaps;
  let api: FakeApiServer;
  let source: KubeSource;
  let pipeline: Pipeline;

  /** What the maps say: service → sorted backend addresses. */
  const served = () =>
    Object.fromEntries(
      servicesView(mapContents(maps)).map((s) => [s.service, s.backends.map((b) => b.address).sort()]),
    );

  beforeAll(() => {
    execFileSync('make', ['-s', '-C', ROOT, 'build/bpf/switchyard.o'], { stdio: 'pipe' });
    silenceLibbpf();
  });

  beforeEach(async () => {
    obj = BpfObject.open(`${ROOT}/build/bpf/switchyard.o`);
    maps = dataplaneMaps(obj);
    api = new FakeApiServer({ bookmarkIntervalMs: 200 });
    const { url } = await api.start();
    api.apply({ apiVersion: 'v1', kind: 'Node', metadata: { name: NODE } });
    const log = pino({ level: 'silent' });
    source = new KubeSource({
      api: new ApiClient(accessFor(url)),
      nodeName: NODE,
      logger: log,
      watchdogMs: 1500,
      minBackoffMs: 50,
      maxBackoffMs: 400,
    });
    pipeline = new Pipeline({
      source,
      node: () => ({ nodeName: NODE, nodePortAddresses: [] }),
      reconciler: new Reconciler(maps, log),
      log,
      minSyncPeriodMs: 100,
    });
    // The change is passed on: syncs after the start are partial, as in the agent.
    await source.start((change) => pipeline.request(change));
    pipeline.syncNow();
  });

  afterEach(async () => {
    pipeline.stop();
    await source.stop();
    await api.stop();
    obj.close();
  });

  it('adds, changes and deletes Services and slices in the maps', async () => {
    api.apply(service('web', '10.96.0.10'));
    api.apply(slice('web', 'web-1', ['10.244.1.1', '10.244.1.2']));
    await waitFor(() => served()['default/web:http/TCP']?.length === 2, 5000);
    api.apply(slice('web', 'web-1', ['10.244.1.1', '10.244.1.2', '10.244.1.3']));
    await waitFor(() => served()['default/web:http/TCP']?.length === 3, 5000);
    api.delete('EndpointSlice', 'default', 'web-1');
    await waitFor(() => served()['default/web:http/TCP']?.length === 0, 5000);
    api.delete('Service', 'default', 'web');
    await waitFor(() => maps.frontends.entries().length === 0 && maps.backends.entries().length === 0, 5000);
  });

  it('follows zone hints by the zone label of its own Node, watched: a label change moves the set', async () => {
    api.apply(service('zoned', '10.96.0.40'));
    const hinted = slice('zoned', 'zoned-1', ['10.244.1.1', '10.244.2.1']);
    hinted.endpoints.forEach((e, i) =>
      Object.assign(e, { hints: { forZones: [{ name: i === 0 ? 'zone-a' : 'zone-b' }] } }),
    );
    api.apply(hinted);
    await waitFor(() => served()['default/zoned:http/TCP']?.length === 2, 5000); // no zone label yet: hints ignored
    const labelled = (zone: string) => ({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: NODE, labels: { 'topology.kubernetes.io/zone': zone } },
    });
    api.apply(labelled('zone-a'));
    await waitFor(() => served()['default/zoned:http/TCP']?.join() === '10.244.1.1:8080', 5000);
    api.apply(labelled('zone-b'));
    await waitFor(() => served()['default/zoned:http/TCP']?.join() === '10.244.2.1:8080', 5000);
  });

  it('merges a Service split over 3 slices', async () => {
    api.apply(service('big', '10.96.0.20'));
    for (const n of [1, 2, 3]) api.apply(slice('big', `big-${n}`, [`10.244.${n}.1`, `10.244.${n}.2`]));
    await waitFor(() => served()['default/big:http/TCP']?.length === 6, 5000);
  });

  it('relists after a 410 mid-stream, and an object deleted during the gap leaves the maps', async () => {
    api.apply(service('a', '10.96.0.31'));
    api.apply(service('b', '10.96.0.32'));
    await waitFor(() => Object.keys(served()).length === 2, 5000);
    const lists = api.requestCount('Service', 'list');
    api.fault('Service', 'expire410');
    api.delete('Service', 'default', 'b');
    await waitFor(() => Object.keys(served()).join() === 'default/a:http/TCP', 5000);
    expect(api.requestCount('Service', 'list')).toBeGreaterThan(lists);
  });

  it('recovers from HTTP 500s and from a stalled watch within a few seconds', async () => {
    api.fault('all', 'http500', 3);
    api.fault('Service', 'close');
    api.apply(service('after500', '10.96.0.41'));
    await waitFor(() => 'default/after500:http/TCP' in served(), 5000);
    // A watch that goes silent: the watchdog (1.5 s here) must give up on it and relist. The
    // stall is lifted after the watchdog fired; the relist counter shows who delivered the change.
    const lists = api.requestCount('Service', 'list');
    api.fault('Service', 'stall');
    api.apply(service('afterstall', '10.96.0.42'));
    setTimeout(() => api.unstall('Service'), 2500);
    await waitFor(() => 'default/afterstall:http/TCP' in served(), 6000);
    expect(api.requestCount('Service', 'list')).toBeGreaterThan(lists);
  });

  it('applies a burst of 1,000 endpoint changes in a handful of syncs', async () => {
    api.apply(service('burst', '10.96.0.50'));
    await waitFor(() => 'default/burst:http/TCP' in served(), 5000);
    const before = pipeline.status.syncs;
    for (let i = 1; i <= 1000; i++) api.apply(slice('burst', 'burst-1', [`10.244.${1 + (i >> 8)}.${i & 255}`]));
    await waitFor(() => served()['default/burst:http/TCP']?.join() === '10.244.4.232:8080', 8000);
    const syncs = pipeline.status.syncs - before;
    expect(syncs).toBeGreaterThan(0);
    expect(pipeline.status.lastResult?.mode).toBe('partial');
    expect(syncs).toBeLessThanOrEqual(10);
  });
});
