// EndpointSlice lists in the Kubernetes protobuf encoding: the agent's decoder (src/k8s/protobuf.ts)
// against bytes spelled out from k8s.io/api's generated.proto, against the double's encoder
// (src/fakeapi/protobuf.ts) for random slices, and the list request that asks for it.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeList, ProtobufError } from '../../src/k8s/protobuf.js';
import { encodeList, encodeObject } from '../../src/fakeapi/protobuf.js';
import { ENDPOINT_SLICE, PROTOBUF } from '../../src/util/k8s-protobuf.js';
import { parseEndpointSlice } from '../../src/model/endpointslice.js';
import { listRaw } from '../../src/k8s/list.js';
import { ApiClient, ApiError } from '../../src/k8s/client.js';
import { FakeApiServer, accessFor } from '../../src/fakeapi/server.js';

// A writer of its own, so the bytes below depend on nothing the code under test has.
const varint = (v: number): number[] => {
  const out: number[] = [];
  for (; v >= 0x80; v = Math.floor(v / 0x80)) out.push((v % 0x80) | 0x80);
  return [...out, v];
};
const len = (field: number, body: number[]) => [...varint(field * 8 + 2), ...varint(body.length), ...body];
const str = (field: number, s: string) => len(field, [...Buffer.from(s, 'utf8')]);
const num = (field: number, v: number) => [...varint(field * 8), ...varint(v)];
const body = (kind: string, list: number[]) =>
  Buffer.from([
    ...Buffer.from('k8s\0', 'latin1'),
    ...len(1, [...str(1, 'discovery.k8s.io/v1'), ...str(2, kind)]), // Unknown.typeMeta
    ...len(2, list), // Unknown.raw
    ...str(3, ''),
    ...str(4, ''),
  ]);

describe('decodeList (EndpointSlice)', () => {
  it('reads the fields by their generated.proto numbers, and passes over targetRef and the rest', () => {
    const endpoint = [
      ...str(1, '10.1.0.5'), // addresses
      ...len(2, [...num(1, 1), ...num(2, 1), ...num(3, 0)]), // conditions: ready, serving, terminating
      ...str(3, 'web-0'), // hostname
      ...len(4, [...str(1, 'Pod'), ...str(2, 'default'), ...str(3, 'web-0'), ...str(4, 'u-1')]), // targetRef
      ...len(5, [...str(1, 'k'), ...str(2, 'v')]), // deprecatedTopology
      ...str(6, 'node1'), // nodeName
      ...str(7, 'zone-a'), // zone
      ...len(8, [...len(1, str(1, 'zone-a')), ...len(2, str(1, 'node1'))]), // hints: forZones, forNodes
    ];
    const slice = [
      ...len(1, [
        ...str(1, 'web-abc'), // ObjectMeta.name
        ...str(3, 'default'), // namespace
        ...str(5, 'uid-1'), // uid (skipped)
        ...str(6, '42'), // resourceVersion
        ...len(8, num(1, 1_700_000_000)), // creationTimestamp (skipped)
        ...len(11, [...str(1, 'kubernetes.io/service-name'), ...str(2, 'web')]), // labels
        ...len(12, [...str(1, 'note'), ...str(2, 'café')]), // annotations
        ...len(17, str(1, 'kube-controller-manager')), // managedFields (not in the table)
      ]),
      ...len(2, endpoint), // endpoints
      ...len(2, [...str(1, '10.1.0.6'), ...len(2, num(1, 0))]),
      ...len(3, [...str(1, 'http'), ...str(2, 'TCP'), ...num(3, 8080), ...str(4, 'kubernetes.io/h2c')]), // ports
      ...len(3, [...str(1, 'neg'), ...varint(3 * 8), ...Array(9).fill(0xff), 0x01]), // port -1: ten bytes
      ...str(4, 'IPv4'), // addressType
    ];
    const list = [...len(1, [...str(2, '77'), ...str(3, 'next-page')]), ...len(2, slice)];
    const seen: unknown[] = [];
    const out = decodeList(body('EndpointSliceList', list), 'EndpointSlice', (item) => seen.push(item));
    expect(out.metadata).toEqual({ resourceVersion: '77', continue: 'next-page' });
    expect(out.kind).toBe('EndpointSliceList');
    expect(out.apiVersion).toBe('discovery.k8s.io/v1');
    expect(seen).toEqual([
      {
        metadata: {
          name: 'web-abc',
          namespace: 'default',
          resourceVersion: '42',
          labels: { 'kubernetes.io/service-name': 'web' },
          annotations: { note: 'café' },
        },
        endpoints: [
          {
            addresses: ['10.1.0.5'],
            conditions: { ready: true, serving: true, terminating: false },
            hostname: 'web-0',
            nodeName: 'node1',
            zone: 'zone-a',
            hints: { forZones: [{ name: 'zone-a' }], forNodes: [{ name: 'node1' }] },
          },
          { addresses: ['10.1.0.6'], conditions: { ready: false } },
        ],
        ports: [
          { name: 'http', protocol: 'TCP', port: 8080, appProtocol: 'kubernetes.io/h2c' },
          { name: 'neg', port: -1 },
        ],
        addressType: 'IPv4',
      },
    ]);
  });

  it('names what is wrong with a body that is not the protobuf it says', () => {
    const ok = [...len(2, [...len(1, str(1, 'a')), ...str(4, 'IPv4')])];
    expect(() => decodeList(Buffer.from('{"items":[]}'), 'EndpointSlice', (x) => x)).toThrow(/magic/);
    const b = body('EndpointSliceList', ok);
    expect(() => decodeList(b.subarray(0, b.length - 12), 'EndpointSlice', (x) => x)).toThrow(ProtobufError);
    // addressType (4) as a varint: the field and the wire types named.
    const wrong = [...len(2, [...len(1, str(1, 'a')), ...num(4, 1)])];
    expect(() => decodeList(body('EndpointSliceList', wrong), 'EndpointSlice', (x) => x)).toThrow(
      'EndpointSlice.addressType (field 4) has wire type 0, want 2',
    );
    expect(() => decodeList(body('ServiceList', ok), 'Service', (x) => x)).toThrow(/no protobuf decoder for Service/);
  });
});

/** A random EndpointSlice as the API serves it (optional fields present or not). */
function randomSlice(rand: () => number, i: number): Record<string, any> {
  const maybe = <T>(v: T): T | undefined => (rand() < 0.5 ? v : undefined);
  const bool = () => maybe(rand() < 0.5);
  const endpoints = Array.from({ length: Math.floor(rand() * 5) }, (_, e) => ({
    addresses: [`10.${i & 255}.${e}.${Math.floor(rand() * 255)}`],
    conditions: maybe({ ready: bool(), serving: bool(), terminating: bool() }),
    hostname: maybe(`h${e}`),
    nodeName: maybe(`node${e % 3}`),
    zone: maybe(rand() < 0.5 ? 'zone-a' : 'zoné-b'),
    targetRef: maybe({ kind: 'Pod', namespace: 'ns', name: `p${e}`, uid: `u${e}` }),
    hints: maybe({ forZones: maybe([{ name: 'zone-a' }]), forNodes: maybe([{ name: `node${e}` }]) }),
  }));
  const ports = Array.from({ length: Math.floor(rand() * 3) }, (_, p) => ({
    name: maybe(`p${p}`),
    protocol: maybe(rand() < 0.5 ? 'TCP' : 'UDP'),
    port: maybe(Math.floor(rand() * 70_000) - 1_000),
    appProtocol: maybe('http'),
  }));
  const prune = (o: unknown): unknown =>
    Array.isArray(o)
      ? o.map(prune)
      : o && typeof o === 'object'
        ? Object.fromEntries(
            Object.entries(o)
              .filter(([, v]) => v !== undefined)
              .map(([k, v]) => [k, prune(v)]),
          )
        : o;
  return prune({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: `s${i}`,
      namespace: maybe('ns1'),
      uid: `uid-${i}`,
      resourceVersion: String(100 + i),
      creationTimestamp: '2026-01-02T03:04:05Z',
      labels: maybe({ 'kubernetes.io/service-name': `svc${i % 4}` }),
      annotations: maybe({ 'endpoints.kubernetes.io/last-change-trigger-time': '2026-01-02T03:04:05Z' }),
    },
    addressType: maybe(rand() < 0.8 ? 'IPv4' : 'FQDN'),
    endpoints,
    ports,
  }) as Record<string, any>;
}

/** @o less what the decoder skips: what the model gets from protobuf where JSON has it all. An
 *  empty list is no field at all in protobuf, so it decodes as absent (the model reads both alike:
 *  the round trip below checks that too). */
function withoutSkipped(o: Record<string, any>): Record<string, any> {
  const c = structuredClone(o);
  delete c.apiVersion;
  delete c.kind;
  delete c.metadata.uid;
  delete c.metadata.creationTimestamp;
  for (const e of c.endpoints ?? []) delete e.targetRef;
  if (c.endpoints?.length === 0) delete c.endpoints;
  if (c.ports?.length === 0) delete c.ports;
  return c;
}

describe('the double encodes, the agent decodes', () => {
  it('gives what JSON gives, less the skipped fields, and the model reads both the same', () => {
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const slices = Array.from({ length: 300 }, (_, i) => randomSlice(rand, i));
    const bytes = encodeList(
      { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSliceList' },
      { resourceVersion: '9' },
      slices.map((s) => encodeObject(ENDPOINT_SLICE, s)),
    );
    const out = decodeList(bytes, 'EndpointSlice', (x) => x);
    expect(out.metadata).toEqual({ resourceVersion: '9' });
    expect(out.items).toEqual(slices.map(withoutSkipped));
    for (let i = 0; i < slices.length; i++)
      expect(parseEndpointSlice(out.items[i], 'api')).toEqual(parseEndpointSlice(slices[i], 'api'));
  });
});

describe('listRaw with protobuf', () => {
  const api = new FakeApiServer({ bookmarkIntervalMs: 0 });
  let kc: ApiClient;
  beforeAll(async () => {
    kc = new ApiClient(accessFor((await api.start()).url));
  });
  afterAll(() => api.stop());

  /** @kc, recording the Accept header each list asks with and the Content-Type it got. */
  const recording = (seen: string[]): ApiClient =>
    Object.create(kc, {
      get: {
        value: async (path: string, q: Record<string, string | undefined>, s?: AbortSignal, accept?: string) => {
          const res = await kc.get(path, q, s, accept);
          seen.push(`${accept ?? 'application/json'} → ${res.headers['content-type']}`);
          return res;
        },
      },
    });

  it('asks for EndpointSlices in protobuf, in pages, and gets the JSON list less the skipped fields', async () => {
    let seed = 11;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const slices = Array.from({ length: 120 }, (_, i) => randomSlice(rand, i));
    for (const s of slices) api.apply(structuredClone(s));
    const path = '/apis/discovery.k8s.io/v1/endpointslices';
    const json = await listRaw(kc, path, {});
    const seen: string[] = [];
    const proto = await listRaw(recording(seen), path, {}, undefined, (x) => x, 'EndpointSlice');
    expect(seen.length).toBeGreaterThan(1); // in pages
    expect(new Set(seen)).toEqual(new Set([`${PROTOBUF}, application/json → ${PROTOBUF}`]));
    expect(proto.metadata).toEqual(json.metadata);
    expect(proto.kind).toBe('EndpointSliceList');
    expect(proto.items).toHaveLength(120);
    expect(proto.items).toEqual(json.items.map(withoutSkipped));
    const services: string[] = [];
    await listRaw(recording(services), '/api/v1/services', {}, undefined, (x) => x, 'Service');
    expect(services).toEqual(['application/json → application/json']);
  });

  it('takes JSON from a server that answers with it, and reads a protobuf Status', async () => {
    let reply: (res: import('node:http').ServerResponse) => void = () => {};
    const server: Server = createServer((_req, res) => reply(res));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const other = new ApiClient(accessFor(`http://127.0.0.1:${(server.address() as AddressInfo).port}`));
    try {
      reply = (res) =>
        res
          .writeHead(200, { 'Content-Type': 'application/json' })
          .end(JSON.stringify({ metadata: { resourceVersion: '5' }, items: [{ metadata: { name: 'a' } }] }));
      const list = await listRaw(other, '/x', {}, undefined, (x) => x, 'EndpointSlice');
      expect(list.items).toEqual([{ metadata: { name: 'a' } }]);
      // A 410 in protobuf: meta/v1 Status {message 3} in the envelope.
      const status = body('Status', [
        ...str(2, 'Failure'),
        ...str(3, 'too old resource version: 5 (9)'),
        ...num(6, 410),
      ]);
      reply = (res) => res.writeHead(410, { 'Content-Type': PROTOBUF }).end(status);
      const err = await listRaw(other, '/x', {}, undefined, (x) => x, 'EndpointSlice').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ApiError);
      expect(err).toMatchObject({ statusCode: 410, message: 'list /x: HTTP 410: too old resource version: 5 (9)' });
      reply = (res) => res.writeHead(200, { 'Content-Type': PROTOBUF }).end(Buffer.from('k8s\0\x12\x05ab'));
      await expect(listRaw(other, '/x', {}, undefined, (x) => x, 'EndpointSlice')).rejects.toThrow(
        /list \/x: response is not the protobuf it says/,
      );
    } finally {
      server.close();
    }
  });
});
