// The edge of the Kubernetes source: raw lists and the plain-JSON normalization.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toPlain, objectKey } from '../../src/k8s/normalize.js';
import { FIRST_PAGE, MAX_PAGE, MIN_PAGE, PAGE_CHARS, listRaw, nextPageLimit } from '../../src/k8s/list.js';
import { ApiClient, ApiError } from '../../src/k8s/client.js';
import { FakeApiServer, accessFor } from '../../src/fakeapi/server.js';

describe('toPlain', () => {
  it('sets apiVersion/kind, drops managedFields, turns class instances and Dates into JSON', () => {
    class Meta {
      name = 'web';
      namespace = 'default';
      creationTimestamp = new Date('2024-01-02T03:04:05Z');
      managedFields = [{ manager: 'kubectl' }];
    }
    const input = { metadata: new Meta(), spec: { ports: [{ port: 80, targetPort: 'http' }] } };
    const out = toPlain(input, { kind: 'Service', apiVersion: 'v1' });
    expect(out).toEqual({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: 'default', creationTimestamp: '2024-01-02T03:04:05.000Z' },
      spec: { ports: [{ port: 80, targetPort: 'http' }] },
    });
    expect(Object.getPrototypeOf(out.metadata)).toBe(Object.prototype);
    expect(input.metadata.managedFields).toHaveLength(1); // a copy: the input is untouched
    expect(objectKey(out as any)).toBe('default/web');
    expect(objectKey({ metadata: { name: 'n1' } })).toBe('/n1');
  });

  it('holds wire JSON once: nested objects are shared with the input, which is left untouched', () => {
    const input = {
      metadata: { name: 'web', namespace: 'default', managedFields: [{ manager: 'kubectl' }] },
      spec: { ports: [{ port: 80 }] },
    };
    const out = toPlain(input, { kind: 'Service', apiVersion: 'v1' });
    expect(out.spec).toBe(input.spec);
    expect(out.metadata).toEqual({ name: 'web', namespace: 'default' });
    expect(input.metadata.managedFields).toHaveLength(1);
    expect(out).not.toHaveProperty('metadata.managedFields');
  });
});

describe('listRaw', () => {
  const api = new FakeApiServer({ bookmarkIntervalMs: 0 });
  let kc: ApiClient;
  beforeAll(async () => {
    kc = new ApiClient(accessFor((await api.start()).url));
  });
  afterAll(() => api.stop());

  it('returns the wire JSON with selectors applied', async () => {
    api.apply({ kind: 'Service', metadata: { name: 'a', labels: { x: '1' } }, spec: { unknownField: true } });
    api.apply({ kind: 'Service', metadata: { name: 'b' } });
    const list = await listRaw(kc, '/api/v1/services', { labelSelector: 'x' });
    expect(list.kind).toBe('ServiceList');
    expect(list.metadata.resourceVersion).toBe('2');
    expect(list.items).toHaveLength(1);
    expect(list.items[0].spec).toEqual({ unknownField: true }); // the generated client would drop it
  });

  /** @kc, recording the `limit` of each request it sends. */
  const recording = (limits: string[]): ApiClient =>
    Object.create(kc, {
      get: {
        value: (path: string, query: Record<string, string | undefined>, signal?: AbortSignal) => {
          limits.push(query.limit ?? '');
          return kc.get(path, query, signal);
        },
      },
    });

  it("reads a long list in pages, each item through the callback, under the first page's version", async () => {
    // Small items: after the first page, pages of MAX_PAGE.
    const n = FIRST_PAGE + MAX_PAGE + 7;
    for (let i = 0; i < n; i++)
      api.apply({ kind: 'Service', metadata: { name: `p${String(i).padStart(4, '0')}`, labels: { page: 'y' } } });
    const rv = api.resourceVersion();
    const requests = api.requestCount('Service', 'list');
    const seen: string[] = [];
    const limits: string[] = [];
    const list = await listRaw(recording(limits), '/api/v1/services', { labelSelector: 'page' }, undefined, (item) => {
      seen.push(item.metadata.name);
      if (seen.length === 1) api.apply({ kind: 'Service', metadata: { name: 'p9999', labels: { page: 'y' } } });
      // The key the next page starts after, deleted before that page is asked for: the page
      // still starts at the key after it (the double bisects its sorted keys).
      if (seen.length === 2) api.delete('Service', 'default', `p${String(FIRST_PAGE - 1).padStart(4, '0')}`);
      return { name: item.metadata.name };
    });
    expect(limits).toEqual([String(FIRST_PAGE), String(MAX_PAGE), String(MAX_PAGE)]);
    expect(api.requestCount('Service', 'list') - requests).toBe(3);
    expect(list.metadata).toEqual({ resourceVersion: rv });
    expect(list.items).toHaveLength(n + 1); // p9999, added between pages, is in the last one
    expect(list.items[0]).toEqual({ name: 'p0000' });
    expect(new Set(seen).size).toBe(n + 1);
    expect(list.items[FIRST_PAGE]).toEqual({ name: `p${String(FIRST_PAGE).padStart(4, '0')}` });
    for (let i = 0; i < n; i++) api.delete('Service', 'default', `p${String(i).padStart(4, '0')}`);
    api.delete('Service', 'default', 'p9999');
  });

  it('sizes each page after the first by the characters per item of the one before', async () => {
    // ~3,000 characters an item (the size of an EndpointSlice of ten endpoints): the second page
    // asks for as many as fit in PAGE_CHARS, so its text stays a young-generation string.
    const note = 'x'.repeat(2_800);
    for (let i = 0; i < 100; i++)
      api.apply({ kind: 'Service', metadata: { name: `big${i}`, labels: { big: 'y' }, annotations: { note } } });
    const limits: string[] = [];
    const list = await listRaw(recording(limits), '/api/v1/services', { labelSelector: 'big' });
    expect(list.items).toHaveLength(100);
    const second = Number(limits[1]);
    expect(second).toBeGreaterThanOrEqual(33);
    expect(second).toBeLessThanOrEqual(38);
    expect(JSON.stringify({ items: list.items.slice(0, second) }).length).toBeLessThan(PAGE_CHARS);
    expect(limits).toEqual([String(FIRST_PAGE), String(second), String(second)]);
  });

  it('keeps the page size between MIN_PAGE and MAX_PAGE', () => {
    expect(nextPageLimit(40 * 2_800, 40, 40)).toBe(Math.floor(PAGE_CHARS / 2_800));
    expect(nextPageLimit(40 * 250, 40, 40)).toBe(458); // Services
    expect(nextPageLimit(40 * 150, 40, 40)).toBe(MAX_PAGE);
    expect(nextPageLimit(40 * 1_000_000, 40, 40)).toBe(MIN_PAGE); // slices of 1,000 endpoints
    // An empty page (with a continue token, a server may send one): no size to go by, so the
    // next page asks for as many as this one did, not MAX_PAGE of items of unknown size.
    expect(nextPageLimit(60, 0, 37)).toBe(37);
  });

  it('fails with the status code and the Status message, and can be aborted', async () => {
    api.fault('Service', 'http500');
    const err = await listRaw(kc, '/api/v1/services', {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ statusCode: 500, message: expect.stringMatching(/HTTP 500: injected fault/) });
    api.fault('Service', 'stall');
    const ac = new AbortController();
    const pending = listRaw(kc, '/api/v1/services', {}, ac.signal);
    setTimeout(() => ac.abort(), 20);
    await expect(pending).rejects.toThrow(/abort/i);
    api.unstall();
  });
});
