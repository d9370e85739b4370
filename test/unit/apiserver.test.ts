// The API-server double's wire protocol, spoken to with plain node:http: what informers rely on.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { get, request, type ClientRequest, type IncomingHttpHeaders } from 'node:http';
import { FakeApiServer, DEFAULT_TOKEN, kubeconfigFor } from '../../src/fakeapi/server.js';
import { waitFor } from '../lib/wait.js';

const AUTH = { Authorization: `Bearer ${DEFAULT_TOKEN}` };

interface Stream {
  status: number;
  headers: IncomingHttpHeaders;
  events: Array<{ type: string; object: any }>;
  ended: boolean;
  error?: Error;
  req: ClientRequest;
}

/** Opens a watch; resolves as soon as the headers are in, then collects one event per line. */
function openWatch(base: string, path: string): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const req = get(base + path, { headers: AUTH }, (res) => {
      const s: Stream = { status: res.statusCode!, headers: res.headers, events: [], ended: false, req };
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        let i: number;
        while ((i = buf.indexOf('\n')) >= 0) {
          s.events.push(JSON.parse(buf.slice(0, i)));
          buf = buf.slice(i + 1);
        }
      });
      res.on('end', () => (s.ended = true));
      res.on('error', (e) => (s.error = e));
      req.on('error', (e) => (s.error = e));
      resolve(s);
    });
    req.on('error', reject);
  });
}

async function call(
  base: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request(base + path, { method, headers: { ...AUTH, 'Content-Type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, body: text ? JSON.parse(text) : undefined }));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

const svc = (name: string, labels: Record<string, string> = {}, ns = 'default') => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: ns, labels },
  spec: { clusterIP: '10.96.0.10', ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }] },
});

describe('FakeApiServer wire protocol', () => {
  let api: FakeApiServer;
  let url: string;
  const streams: Stream[] = [];
  const watch = async (path: string) => {
    const s = await openWatch(url, path);
    streams.push(s);
    return s;
  };

  beforeEach(async () => {
    api = new FakeApiServer({ bookmarkIntervalMs: 0, historySize: 5 });
    ({ url } = await api.start());
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });
  afterEach(async () => {
    for (const s of streams.splice(0)) s.req.destroy();
    await api.stop();
  });

  it('lists with the List shape, a resourceVersion, and items without kind', async () => {
    const stored = api.apply(svc('a'));
    expect(stored.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(stored.metadata.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    api.apply(svc('b', {}, 'other'));
    const { status, body } = await call(url, 'GET', '/api/v1/services');
    expect(status).toBe(200);
    expect(body).toMatchObject({ kind: 'ServiceList', apiVersion: 'v1', metadata: { resourceVersion: '2' } });
    expect(body.items.map((i: any) => `${i.metadata.namespace}/${i.metadata.name}`)).toEqual(['default/a', 'other/b']);
    expect(body.items[0].kind).toBeUndefined();
    expect(body.items[0].spec.ports[0].targetPort).toBe('http');
    const ns = await call(url, 'GET', '/api/v1/namespaces/other/services');
    expect(ns.body.items.map((i: any) => i.metadata.name)).toEqual(['b']);
  });

  it('filters by label selector like kube-proxy and by field selector', async () => {
    api.apply(svc('plain'));
    api.apply(svc('other-proxy', { 'service.kubernetes.io/service-proxy-name': 'foo' }));
    api.apply(svc('headless', { 'service.kubernetes.io/headless': '' }));
    api.apply(svc('blue', { color: 'blue' }));
    const names = async (sel: string) =>
      (await call(url, 'GET', `/api/v1/services?labelSelector=${encodeURIComponent(sel)}`)).body.items.map(
        (i: any) => i.metadata.name,
      );
    expect(await names('!service.kubernetes.io/service-proxy-name,!service.kubernetes.io/headless')).toEqual([
      'blue',
      'plain',
    ]);
    expect(await names('color=blue')).toEqual(['blue']);
    expect(await names('color==blue')).toEqual(['blue']);
    expect(await names('color')).toEqual(['blue']);
    expect(await names('color!=blue')).toEqual(['headless', 'other-proxy', 'plain']);
    expect(await names('color in (red,blue)')).toEqual(['blue']);
    expect((await call(url, 'GET', '/api/v1/services?labelSelector=%3D%3D%3D')).status).toBe(400);
    api.apply({ kind: 'Node', metadata: { name: 'n1' } });
    api.apply({ kind: 'Node', metadata: { name: 'n2', namespace: 'ignored' } });
    const nodes = await call(url, 'GET', '/api/v1/nodes?fieldSelector=metadata.name%3Dn2');
    expect(nodes.body.items.map((i: any) => [i.metadata.name, i.metadata.namespace])).toEqual([['n2', undefined]]);
  });

  it('refuses requests without the kubeconfig token', async () => {
    const res = await new Promise<number>((resolve) => get(`${url}/api/v1/services`, (r) => resolve(r.statusCode!)));
    expect(res).toBe(401);
    const cfg = JSON.parse(kubeconfigFor(url));
    expect(cfg.clusters[0].cluster).toEqual({ server: url, 'insecure-skip-tls-verify': true });
    expect(cfg.users[0].user.token).toBe(DEFAULT_TOKEN);
  });

  it('streams one event per line on a chunked 200 whose headers come at once', async () => {
    api.apply(svc('a'));
    const rv = api.resourceVersion();
    const s = await watch(`/api/v1/services?watch=true&resourceVersion=${rv}`);
    expect(s.status).toBe(200);
    expect(s.headers['content-type']).toBe('application/json');
    expect(s.headers['transfer-encoding']).toBe('chunked');
    expect(s.events).toEqual([]);
    api.apply({ ...svc('a'), spec: { ports: [{ port: 81 }] } });
    api.apply(svc('b'));
    api.delete('Service', 'default', 'a');
    await waitFor(() => s.events.length === 3);
    expect(s.events.map((e) => [e.type, e.object.metadata.name, e.object.metadata.resourceVersion])).toEqual([
      ['MODIFIED', 'a', '2'],
      ['ADDED', 'b', '3'],
      ['DELETED', 'a', '4'],
    ]);
    expect(s.events[0].object.kind).toBe('Service');
  });

  it('replays history after resourceVersion N, and synthetic ADDs from 0', async () => {
    api.apply(svc('a')); // 1
    api.apply(svc('b')); // 2
    api.delete('Service', 'default', 'a'); // 3
    const s = await watch('/api/v1/services?watch=true&resourceVersion=1');
    await waitFor(() => s.events.length === 2);
    expect(s.events.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(['ADDED b', 'DELETED a']);
    const z = await watch('/api/v1/services?watch=true&resourceVersion=0');
    await waitFor(() => z.events.length === 1);
    expect(z.events[0]).toMatchObject({ type: 'ADDED', object: { metadata: { name: 'b' } } });
  });

  it('turns label changes into ADDED/DELETED for a selector watch', async () => {
    api.apply(svc('a', { keep: 'yes' }));
    const s = await watch(`/api/v1/services?watch=true&resourceVersion=${api.resourceVersion()}&labelSelector=keep`);
    api.apply(svc('a', {})); // leaves the selection
    api.apply(svc('a', { keep: 'again' })); // comes back
    await waitFor(() => s.events.length === 2);
    expect(s.events.map((e) => e.type)).toEqual(['DELETED', 'ADDED']);
    expect(s.events[0].object.metadata.resourceVersion).toBe('2');
  });

  it('sends BOOKMARKs only to watches that allow them, and closes at timeoutSeconds', async () => {
    api.apply(svc('a'));
    const yes = await watch('/api/v1/services?watch=true&resourceVersion=1&allowWatchBookmarks=true&timeoutSeconds=1');
    const no = await watch('/api/v1/services?watch=true&resourceVersion=1');
    api.apply(svc('b'));
    api.sendBookmarks();
    await waitFor(() => yes.events.length === 2);
    expect(yes.events[1]).toEqual({
      type: 'BOOKMARK',
      object: { kind: 'Service', apiVersion: 'v1', metadata: { resourceVersion: '2' } },
    });
    await waitFor(() => yes.ended, 3000);
    expect(yes.events.at(-1)!.type).toBe('BOOKMARK'); // one more right before the deadline
    expect(no.events.map((e) => e.type)).toEqual(['ADDED']);
    expect(no.ended).toBe(false);
  });

  it('answers a watch from a compacted version with an ERROR 410 event and closes', async () => {
    for (let i = 0; i < 8; i++) api.apply(svc(`s${i}`)); // history holds 5 of 8
    const old = await watch('/api/v1/services?watch=true&resourceVersion=1');
    await waitFor(() => old.ended);
    expect(old.status).toBe(200);
    expect(old.events).toEqual([
      { type: 'ERROR', object: expect.objectContaining({ kind: 'Status', code: 410, reason: 'Expired' }) },
    ]);
    const recent = await watch('/api/v1/services?watch=true&resourceVersion=3');
    await waitFor(() => recent.events.length === 5);
    api.compactHistory();
    const after = await watch('/api/v1/services?watch=true&resourceVersion=7');
    await waitFor(() => after.ended);
    expect(after.events[0].object.code).toBe(410);
  });

  it('scripts faults: http500, http410, close, expire410', async () => {
    api.fault('Service', 'http500', 2);
    expect((await call(url, 'GET', '/api/v1/services')).status).toBe(500);
    expect((await call(url, 'GET', '/api/v1/services?watch=true')).body).toMatchObject({ kind: 'Status', code: 500 });
    expect((await call(url, 'GET', '/api/v1/services')).body).toMatchObject({ kind: 'ServiceList' });
    api.fault('EndpointSlice', 'http410');
    const gone = await watch('/apis/discovery.k8s.io/v1/endpointslices?watch=true&resourceVersion=0');
    expect(gone.status).toBe(410);
    const ok = await watch('/apis/discovery.k8s.io/v1/endpointslices?watch=true&resourceVersion=0');
    expect(ok.status).toBe(200);
    api.fault('EndpointSlice', 'close');
    await waitFor(() => ok.ended);
    expect(ok.error).toBeUndefined();

    api.apply(svc('a'));
    const w = await watch('/api/v1/services?watch=true&resourceVersion=1');
    api.fault('Service', 'expire410');
    await waitFor(() => w.ended);
    expect(w.events.map((e) => [e.type, e.object.code])).toEqual([['ERROR', 410]]);
    const again = await watch('/api/v1/services?watch=true&resourceVersion=0'); // 0 still works
    expect(again.status).toBe(200);
    expect(api.requests()).toMatchObject({ 'list /api/v1/services': 2, 'watch /api/v1/services': 3 });
    expect(api.requestCount('EndpointSlice', 'watch')).toBe(2);
  });

  it('stalls: headers but no bytes until unstall; lists held', async () => {
    api.apply(svc('a'));
    const before = await watch('/api/v1/services?watch=true&resourceVersion=1');
    api.fault('Service', 'stall');
    api.apply(svc('b'));
    const during = await watch('/api/v1/services?watch=true&resourceVersion=1');
    expect(during.status).toBe(200);
    let listed = false;
    const list = call(url, 'GET', '/api/v1/services').then((r) => {
      listed = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(before.events).toEqual([]);
    expect(during.events).toEqual([]);
    expect(listed).toBe(false);
    api.unstall();
    await waitFor(() => before.events.length === 1 && during.events.length === 1);
    expect((await list).body.items).toHaveLength(2);
  });

  it('resets the TCP connection of open watches', async () => {
    const s = await watch('/api/v1/nodes?watch=true&resourceVersion=0');
    api.fault('Node', 'reset');
    await waitFor(() => s.error);
    expect((s.error as NodeJS.ErrnoException).code).toMatch(/ECONNRESET|ERR_STREAM_PREMATURE_CLOSE/);
  });

  it('takes changes over HTTP: POST, PUT, GET, DELETE', async () => {
    const base = '/apis/discovery.k8s.io/v1/namespaces/web/endpointslices';
    const slice = { metadata: { name: 'web-1' }, addressType: 'IPv4', endpoints: [], ports: [] };
    const created = await call(url, 'POST', base, slice);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      kind: 'EndpointSlice',
      apiVersion: 'discovery.k8s.io/v1',
      metadata: { namespace: 'web', resourceVersion: '1' },
    });
    expect((await call(url, 'POST', base, slice)).status).toBe(409);
    const put = await call(url, 'PUT', `${base}/web-1`, { ...slice, endpoints: [{ addresses: ['10.0.0.1'] }] });
    expect(put.status).toBe(200);
    expect(put.body.metadata.uid).toBe(created.body.metadata.uid);
    expect((await call(url, 'GET', `${base}/web-1`)).body.endpoints).toHaveLength(1);
    expect(api.get('EndpointSlice', 'web', 'web-1')?.metadata.resourceVersion).toBe('2');
    expect((await call(url, 'DELETE', `${base}/web-1`)).status).toBe(200);
    expect((await call(url, 'DELETE', `${base}/web-1`)).status).toBe(404);
    expect(api.list('EndpointSlice')).toEqual([]);
    expect((await call(url, 'GET', '/api/v1/namespaces/x/nodes')).status).toBe(404);
  });
});
