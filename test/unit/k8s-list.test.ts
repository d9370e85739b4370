// listRaw (src/k8s/list.ts): a list read page by page, the next page asked for as soon as this one
// is parsed, so the server builds it while this page's items are taken. Every item arrives once
// and in order.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { accessFor, FakeApiServer } from '../../src/fakeapi/server.js';
import { ApiClient } from '../../src/k8s/client.js';
import { LIST_PAGE, listRaw } from '../../src/k8s/list.js';

type Layout = (page: { items: object[]; continue?: string }) => string;

/** Three pages of two items ('a', 'b' | 'c', 'd' | 'e', 'f'), written by @layout; records each
 *  request's continue token. */
async function pagedServer(layout: Layout): Promise<{ url: string; asked: Array<string | null>; server: Server }> {
  const pages = [
    ['a', 'b'],
    ['c', 'd'],
    ['e', 'f'],
  ];
  const asked: Array<string | null> = [];
  const server = createServer((req, res) => {
    const token = new URL(req.url ?? '/', 'http://x').searchParams.get('continue');
    asked.push(token);
    const i = token === null ? 0 : Number(token.slice(1));
    const items = pages[i]!.map((name) => ({ metadata: { name } }));
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(layout({ items, ...(i < pages.length - 1 ? { continue: `p${i + 1}` } : {}) }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, asked, server };
}

let server: Server | undefined;
afterEach(async () => {
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  server = undefined;
});

const names = (list: { items: Array<Record<string, any>> }) => list.items.map((i) => i.metadata.name);

describe('listRaw', () => {
  const rv = { resourceVersion: '7' };
  const layouts: Record<string, Layout> = {
    'metadata first (as the API server writes it)': (p) =>
      JSON.stringify({ kind: 'ServiceList', metadata: { ...rv, continue: p.continue }, items: p.items }),
    'items first': (p) =>
      JSON.stringify({ kind: 'ServiceList', items: p.items, metadata: { ...rv, continue: p.continue } }),
  };
  for (const [name, layout] of Object.entries(layouts)) {
    it(`reads every item once, in order: ${name}`, async () => {
      const s = await pagedServer(layout);
      server = s.server;
      const list = await listRaw(new ApiClient(accessFor(s.url, 'x')), '/api/v1/services', {});
      expect(names(list)).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
      expect(list.metadata.resourceVersion).toBe('7');
      expect(s.asked).toEqual([null, 'p1', 'p2']);
    });
  }

  it("asks for the next page before taking this one's items", async () => {
    const s = await pagedServer(layouts['metadata first (as the API server writes it)']!);
    server = s.server;
    const client = new ApiClient(accessFor(s.url, 'x'));
    const events: string[] = [];
    const get = client.get.bind(client);
    client.get = (path, query, signal) => {
      events.push(`ask ${query.continue ?? 'first'}`);
      return get(path, query, signal);
    };
    await listRaw(client, '/api/v1/services', {}, undefined, (item) => {
      events.push(`take ${item.metadata.name}`);
      return item;
    });
    expect(events).toEqual([
      'ask first',
      'ask p1',
      'take a',
      'take b',
      'ask p2',
      'take c',
      'take d',
      'take e',
      'take f',
    ]);
  });

  it('pages through the API double: more than two pages, nothing lost or repeated', async () => {
    const api = new FakeApiServer({ bookmarkIntervalMs: 0, token: 't' });
    try {
      const { url } = await api.start();
      const n = 2 * LIST_PAGE + 3;
      for (let i = 0; i < n; i++)
        api.apply({
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: `s${String(i).padStart(5, '0')}`, namespace: 'default' },
          spec: { clusterIP: 'None', ports: [{ port: 80 }] },
        });
      const list = await listRaw(new ApiClient(accessFor(url, 't')), '/api/v1/services', {});
      expect(names(list)).toEqual(Array.from({ length: n }, (_, i) => `s${String(i).padStart(5, '0')}`));
    } finally {
      await api.stop();
    }
  });
});
