// KubeSource against the API-server double: the informers' real client code over loopback,
// through changes, filters, 410s, errors, stalls, resets and an outage.
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { FakeApiServer, accessFor } from '../../src/fakeapi/server.js';
import { ApiClient } from '../../src/k8s/client.js';
import { KubeSource } from '../../src/k8s/source.js';
import { buildModel, holdParsed } from '../../src/model/index.js';
import { heldResult } from '../../src/model/held.js';
import { waitFor } from '../lib/wait.js';

const NODE = 'node-a';
const PROXY_NAME = 'service.kubernetes.io/service-proxy-name';
const HEADLESS = 'service.kubernetes.io/headless';

const service = (name: string, labels: Record<string, string> = {}, port = 80) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: 'default', labels },
  spec: {
    type: 'ClusterIP',
    clusterIP: '10.96.0.10',
    selector: { app: name },
    ports: [
      { name: 'http', port, targetPort: 'http', protocol: 'TCP' },
      { name: 'metrics', port: 9090, targetPort: 9091, protocol: 'TCP' },
    ],
  },
});

const slice = (svc: string, name: string, ips: string[], labels: Record<string, string> = {}) => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { name, namespace: 'default', labels: { 'kubernetes.io/service-name': svc, ...labels } },
  addressType: 'IPv4',
  endpoints: ips.map((ip) => ({
    addresses: [ip],
    conditions: { ready: true, serving: true, terminating: false },
    nodeName: NODE,
  })),
  ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
});

interface Harness {
  api: FakeApiServer;
  source: KubeSource;
  logs: Array<Record<string, any>>;
  changes: () => number;
  names: (kind: 'services' | 'endpointSlices' | 'nodes') => string[];
  obj: (kind: 'services' | 'endpointSlices' | 'nodes', name: string) => Record<string, any> | undefined;
}

let h: Harness | undefined;

async function harness(
  seed: (api: FakeApiServer) => void = () => {},
  opts: { port?: number; hold?: typeof holdParsed } = {},
): Promise<Harness> {
  const api = new FakeApiServer({ bookmarkIntervalMs: 200, port: opts.port });
  const { url } = await api.start();
  api.apply({ apiVersion: 'v1', kind: 'Node', metadata: { name: NODE }, spec: { podCIDR: '10.244.1.0/24' } });
  api.apply({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-b' } });
  seed(api);
  const logs: Array<Record<string, any>> = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
  const source = new KubeSource({
    api: new ApiClient(accessFor(url)),
    nodeName: NODE,
    logger,
    watchdogMs: 1500,
    minBackoffMs: 50,
    maxBackoffMs: 400,
    hold: opts.hold,
  });
  let n = 0;
  await source.start(() => n++);
  const snap = () => source.snapshot();
  const names = (kind: 'services' | 'endpointSlices' | 'nodes') =>
    snap()[kind].map((o) => (o.object as any).metadata.name as string);
  const obj = (kind: 'services' | 'endpointSlices' | 'nodes', name: string) =>
    snap()[kind].find((o) => (o.object as any).metadata.name === name)?.object as Record<string, any> | undefined;
  h = { api, source, logs, changes: () => n, names, obj };
  return h;
}

afterEach(async () => {
  await h?.source.stop();
  await h?.api.stop();
  h = undefined;
});

describe('KubeSource', () => {
  it('syncs plain JSON shaped like a manifest, from lists and watches alike', async () => {
    const { api, source, obj, names } = await harness((api) => {
      api.apply({
        ...service('web'),
        metadata: { ...service('web').metadata, managedFields: [{ manager: 'kubectl' }] },
      });
      api.apply(slice('web', 'web-1', ['10.244.1.5']));
    });
    expect(source.synced).toBe(true);
    expect(names('nodes')).toEqual([NODE]); // fieldSelector: only this node
    const listed = obj('services', 'web')!;
    // Less what nothing reads (trim.ts): managedFields and uid.
    const { managedFields: _m, uid: _u, ...meta } = api.get('Service', 'default', 'web')!.metadata;
    expect(_u).toEqual(expect.any(String));
    expect(listed).toEqual({ ...api.get('Service', 'default', 'web'), metadata: meta });
    expect(listed.kind).toBe('Service'); // list items come without kind/apiVersion
    expect(listed.apiVersion).toBe('v1');
    expect(listed.spec.ports.map((p: any) => p.targetPort)).toEqual(['http', 9091]);
    expect(typeof listed.metadata.creationTimestamp).toBe('string');
    expect(obj('endpointSlices', 'web-1')).toMatchObject({
      kind: 'EndpointSlice',
      apiVersion: 'discovery.k8s.io/v1',
      endpoints: [{ addresses: ['10.244.1.5'], conditions: { ready: true } }],
    });
    expect(source.snapshot().services[0].origin).toBe('apiserver');
    // The same object arriving over the watch has exactly the same shape.
    api.apply(service('web', { tier: 'front' }));
    await waitFor(() => obj('services', 'web')?.metadata.labels.tier === 'front');
    const { managedFields: _n, uid: _v, ...meta2 } = api.get('Service', 'default', 'web')!.metadata;
    expect(obj('services', 'web')).toEqual({ ...api.get('Service', 'default', 'web'), metadata: meta2 });
  });

  it("with the model's holdParsed, holds parse results, not wire objects, from lists and watches alike", async () => {
    const { api, source } = await harness(
      (api) => {
        api.apply(service('web'));
        api.apply(slice('web', 'web-1', ['10.244.1.5']));
      },
      { hold: holdParsed },
    );
    const addresses = () =>
      buildModel(source.snapshot())
        .model.slicesByService.get('default/web')
        ?.flatMap((s) => s.endpoints.map((e) => e.address));
    const listed = source.get({ kind: 'endpointSlices', key: 'default/web-1' })!.object;
    expect(JSON.parse(JSON.stringify(listed))).toEqual({ metadata: listed.metadata }); // no endpoints, spec or labels of the wire object
    expect(listed.metadata).toEqual({ resourceVersion: expect.any(String) });
    expect(heldResult(listed)?.value).toMatchObject({ name: 'web-1', serviceKey: 'default/web' });
    expect(addresses()).toEqual(['10.244.1.5']);
    api.apply(slice('web', 'web-1', ['10.244.1.6', '10.244.1.7'])); // through the watch
    await waitFor(() => addresses()?.length === 2);
    expect(addresses()).toEqual(['10.244.1.6', '10.244.1.7']);
    expect(buildModel(source.snapshot()).model.services.get('default/web')?.clusterIPs).toEqual(['10.96.0.10']);
    // The Node is read elsewhere (nodeEligible) in its wire form: not held.
    expect(source.snapshot().nodes[0]?.object).toMatchObject({ kind: 'Node', metadata: { name: NODE } });
  });

  it('follows adds, modifications and deletes, and keeps every slice of a split Service', async () => {
    const { api, names, obj, changes } = await harness();
    api.apply(service('db'));
    for (const i of [1, 2, 3]) api.apply(slice('db', `db-${i}`, [`10.244.${i}.1`, `10.244.${i}.2`]));
    await waitFor(() => names('endpointSlices').length === 3 && names('services').length === 1);
    expect(names('endpointSlices')).toEqual(['db-1', 'db-2', 'db-3']);
    api.apply(slice('db', 'db-2', ['10.244.2.9']));
    await waitFor(() => obj('endpointSlices', 'db-2')?.endpoints.length === 1);
    api.delete('EndpointSlice', 'default', 'db-3');
    api.delete('Service', 'default', 'db');
    await waitFor(() => names('endpointSlices').length === 2 && names('services').length === 0);
    expect(changes()).toBeGreaterThanOrEqual(7);
  });

  it("leaves out other proxies' and headless objects (kube-proxy's label selector)", async () => {
    const { api, names } = await harness((api) => {
      api.apply(service('mine'));
      api.apply(service('theirs', { [PROXY_NAME]: 'other-proxy' }));
      api.apply(slice('mine', 'mine-1', ['10.0.0.1']));
      api.apply(slice('theirs', 'theirs-1', ['10.0.0.2'], { [PROXY_NAME]: 'other-proxy' }));
      api.apply(slice('hl', 'hl-1', ['10.0.0.3'], { [HEADLESS]: '' }));
    });
    expect(names('services')).toEqual(['mine']);
    expect(names('endpointSlices')).toEqual(['mine-1']);
    api.apply(service('mine', { [PROXY_NAME]: 'other-proxy' })); // handed over to another proxy
    api.apply(service('theirs')); // taken back
    await waitFor(() => names('services').join() === 'theirs');
  });

  it('relists after a 410 mid-stream; an object deleted in the gap disappears', async () => {
    const { api, names, source } = await harness((api) => ['a', 'b', 'c'].forEach((n) => api.apply(service(n))));
    const lists = api.requestCount('Service', 'list');
    api.fault('Service', 'stall'); // the client stops hearing…
    api.delete('Service', 'default', 'b'); // …so this delete is never streamed to it
    api.fault('Service', 'expire410'); // ERROR 410, close, history forgotten
    api.unstall();
    await waitFor(() => names('services').join() === 'a,c');
    expect(api.requestCount('Service', 'list')).toBe(lists + 1);
    api.apply(service('d'));
    await waitFor(() => names('services').join() === 'a,c,d'); // watching again, no duplicates
    expect(source.lastSyncError).toBeUndefined();
  });

  it('relists when resuming a watch from a compacted version', async () => {
    const { api, names } = await harness((api) => ['a', 'b'].forEach((n) => api.apply(service(n))));
    const lists = api.requestCount('Service', 'list');
    api.fault('Service', 'stall');
    api.delete('Service', 'default', 'a');
    api.apply(service('e'));
    api.compactHistory('Service');
    api.fault('Service', 'close'); // the stream ends before the held events went out
    api.unstall(); // the resumed watch gets ERROR 410 → relist
    await waitFor(() => names('services').join() === 'b,e');
    expect(api.requestCount('Service', 'list')).toBe(lists + 1);
    api.fault('Service', 'http410');
    api.fault('Service', 'close');
    api.apply(service('f'));
    await waitFor(() => names('services').join() === 'b,e,f');
    expect(api.requestCount('Service', 'list')).toBe(lists + 2);
  });

  it('restarts (a relist, after the backoff) on a watch ERROR event other than 410, as client-go does', async () => {
    const { api, names, source, logs } = await harness((api) => api.apply(service('a')));
    await waitFor(() => api.openWatches() === 3);
    const lists = api.requestCount('Service', 'list');
    api.fault('Service', 'error500');
    api.apply(service('b'));
    await waitFor(() => names('services').join() === 'a,b' && source.lastSyncError === undefined);
    expect(api.requestCount('Service', 'list')).toBe(lists + 1);
    const restarts = logs.filter((l) => l.msg === 'informer restarting' && l.kind === 'Service');
    expect(restarts.map((l) => l.reason)).toEqual([
      expect.stringMatching(/^watch ERROR event \(500\): injected fault: error500$/),
    ]);
  });

  it('restarts with backoff after HTTP 500s, keeping the last good state meanwhile', async () => {
    const { api, names, source, logs } = await harness((api) => api.apply(service('a')));
    api.fault('Service', 'http500', 3);
    api.fault('Service', 'close'); // the re-watch gets a 500, then lists too
    await waitFor(() => source.lastSyncError);
    expect(source.lastSyncError).toMatch(/services:.*500/);
    expect(names('services')).toEqual(['a']);
    expect(source.synced).toBe(true);
    api.apply(service('b'));
    await waitFor(() => names('services').join() === 'a,b', 4000);
    await waitFor(() => source.lastSyncError === undefined);
    const restarts = logs.filter((l) => l.msg === 'informer restarting' && l.kind === 'Service');
    expect(restarts.map((l) => l.backoffMs)).toEqual([50, 100, 200]);
    expect(restarts[0].reason).toMatch(/500/);
    expect(source.status().informers.services.restarts).toBe(3);
  });

  it('recovers from a stalled watch through the watchdog', async () => {
    const { api, obj, logs } = await harness((api) => api.apply(slice('a', 'a-1', ['10.0.0.1'])));
    api.fault('EndpointSlice', 'stall');
    api.apply(slice('a', 'a-1', ['10.0.0.1', '10.0.0.2']));
    await waitFor(() => logs.some((l) => l.msg === 'informer restarting' && /watchdog/.test(l.reason)), 4000);
    expect(obj('endpointSlices', 'a-1')!.endpoints).toHaveLength(1); // stalled: not seen yet, nothing lost
    api.unstall(); // the restarted informer's held list goes out
    await waitFor(() => obj('endpointSlices', 'a-1')?.endpoints.length === 2, 3000);
  });

  it('recovers from TCP resets of every watch', async () => {
    const { api, names, source } = await harness((api) => api.apply(service('a')));
    await waitFor(() => api.openWatches() === 3);
    api.fault('all', 'reset');
    api.apply(service('b'));
    api.apply({ apiVersion: 'v1', kind: 'Node', metadata: { name: NODE, labels: { zone: 'z1' } } });
    await waitFor(() => names('services').join() === 'a,b', 3000);
    await waitFor(() => (source.snapshot().nodes[0].object as any).metadata.labels?.zone === 'z1');
    await waitFor(() => source.status().informers.nodes.restarts >= 1 && source.lastSyncError === undefined);
  });

  it('survives malformed watch events (not JSON, unknown type, no object, a string, no metadata) and keeps the good objects', async () => {
    const { api, names, source } = await harness((api) => api.apply(service('a')));
    await waitFor(() => api.openWatches() === 3);
    api.fault('all', 'garbage');
    api.apply(service('b'));
    await waitFor(() => names('services').join() === 'a,b', 5000);
    // Nothing malformed reached the snapshot: every object has a name, and the model sees only a and b.
    const objects = source.snapshot().services.map((o) => o.object as any);
    expect(objects.every((o) => typeof o?.metadata?.name === 'string')).toBe(true);
    api.apply(slice('b', 'b-1', ['10.244.1.9']));
    await waitFor(() => names('endpointSlices').includes('b-1'));
  });

  it('takes a burst of 1000 slice updates and ends in the right state', async () => {
    const { api, obj, changes } = await harness((api) => {
      for (let s = 0; s < 10; s++) api.apply(slice('big', `big-${s}`, ['10.1.0.1']));
    });
    const before = changes();
    const t0 = performance.now();
    for (let i = 0; i < 1000; i++) {
      const s = i % 10;
      const n = 1 + (i % 37);
      api.apply(
        slice(
          'big',
          `big-${s}`,
          Array.from({ length: n }, (_, k) => `10.1.${s}.${k + 1}`),
        ),
      );
    }
    const want = (s: number) => 1 + ((990 + s) % 37);
    await waitFor(
      () =>
        Array.from({ length: 10 }, (_, s) => obj('endpointSlices', `big-${s}`)?.endpoints.length === want(s)).every(
          Boolean,
        ),
      5000,
    );
    const ms = Math.round(performance.now() - t0);
    console.log(`burst: 1000 slice updates applied and seen in ${ms} ms, onChange calls: ${changes() - before}`);
    expect(obj('endpointSlices', 'big-3')!.endpoints.at(-1).addresses).toEqual([`10.1.3.${want(3)}`]);
  });

  it('keeps the last good state while the API server is down, then prunes what vanished', async () => {
    const { api, names, source } = await harness((api) => ['a', 'b'].forEach((n) => api.apply(service(n))));
    const port = Number(new URL(api.url).port);
    await api.stop();
    await waitFor(() => source.lastSyncError, 3000);
    expect(names('services')).toEqual(['a', 'b']);
    expect(source.synced).toBe(true);
    // A new API server on the same address, where b was deleted meanwhile.
    const next = new FakeApiServer({ port, bookmarkIntervalMs: 200 });
    await next.start();
    try {
      next.apply({ apiVersion: 'v1', kind: 'Node', metadata: { name: NODE } });
      next.apply(service('a'));
      await waitFor(() => names('services').join() === 'a' && source.lastSyncError === undefined, 4000);
    } finally {
      await source.stop();
      await next.stop();
    }
  });

  it('stop() before the first sync rejects start() and leaves no watch behind', async () => {
    const api = new FakeApiServer();
    const { url } = await api.start();
    try {
      api.fault('all', 'stall');
      const source = new KubeSource({
        api: new ApiClient(accessFor(url)),
        nodeName: NODE,
        logger: pino({ level: 'silent' }),
      });
      const started = source.start(() => {});
      await waitFor(() => api.requestCount('Node', 'list') === 1);
      await source.stop();
      await expect(started).rejects.toThrow(/stopped before it synced/);
      api.unstall();
      await new Promise((r) => setTimeout(r, 50));
      expect(api.openWatches()).toBe(0);
    } finally {
      await api.stop();
    }
  });
});
