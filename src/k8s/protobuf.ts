// Decodes a Kubernetes protobuf list body (`k8s\0`, a runtime.Unknown, the List in its `raw`) into
// the JSON shape the informers take: the same objects JSON.parse would give, with only the fields
// the model reads (src/util/k8s-protobuf.ts has the table and why). A field the table marks
// `skip`, or does not know, is passed over by its length without being read.
import {
  ENDPOINT,
  ENDPOINT_CONDITIONS,
  ENDPOINT_HINTS,
  ENDPOINT_PORT,
  ENDPOINT_SLICE,
  I32,
  I64,
  LEN,
  LIST_FIELDS,
  LIST_META,
  OBJECT_META,
  PROTOBUF_MAGIC,
  TYPE_META_FIELDS,
  UNKNOWN_FIELDS,
  VARINT,
  type Field,
  type Message,
} from '../util/k8s-protobuf.js';

/** A body that is not the protobuf it says it is: names the message and field where it broke. */
export class ProtobufError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtobufError';
  }
}

// Buffer's own UTF-8 slice (what toString('utf8', a, b) calls after checking its arguments).
type Utf8Slicer = { utf8Slice?: (start: number, end: number) => string };
const nativeSlice = (Buffer.prototype as unknown as Utf8Slicer).utf8Slice;
const utf8 = nativeSlice
  ? (b: Buffer, start: number, end: number) => nativeSlice.call(b, start, end)
  : (b: Buffer, start: number, end: number) => b.toString('utf8', start, end);

class Reader {
  pos: number;
  constructor(
    readonly buf: Buffer,
    start: number,
  ) {
    this.pos = start;
  }

  /** A varint as a number: exact up to 2^53, which every count, port and version here is. */
  varint(): number {
    const b = this.buf;
    if (this.pos >= b.length) throw new ProtobufError('truncated varint');
    let byte = b[this.pos++];
    if (byte < 0x80) return byte;
    let value = byte & 0x7f;
    let scale = 0x80;
    for (let i = 1; i < 10; i++) {
      if (this.pos >= b.length) throw new ProtobufError('truncated varint');
      byte = b[this.pos++];
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 0x80;
    }
    throw new ProtobufError('varint longer than 10 bytes');
  }

  /** An int32: the low 32 bits of its varint, signed (a negative one is written as ten bytes,
   *  two's complement). */
  int32(): number {
    const b = this.buf;
    let value = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= b.length) throw new ProtobufError('truncated varint');
      const byte = b[this.pos++];
      if (i < 5) value |= (byte & 0x7f) << (7 * i);
      if (byte < 0x80) return value | 0;
    }
    throw new ProtobufError('varint longer than 10 bytes');
  }

  /** The end of a length-delimited field that starts here (its length read). */
  end(limit: number): number {
    const len = this.varint();
    const end = this.pos + len;
    if (end > limit) throw new ProtobufError(`a field of ${len} bytes runs past its message`);
    return end;
  }

  /** A string field's text (its tag read). */
  string(limit: number): string {
    const e = this.end(limit);
    const s = utf8(this.buf, this.pos, e);
    this.pos = e;
    return s;
  }

  /** @o, once the message it was read from ended exactly at @end. */
  ended<T>(end: number, o: T, what: string): T {
    if (this.pos !== end) throw new ProtobufError(`${what} runs past its length`);
    return o;
  }

  skip(wire: number, limit: number): void {
    if (wire === VARINT) this.varint();
    else if (wire === LEN) this.pos = this.end(limit);
    else if (wire === I64) this.pos += 8;
    else if (wire === I32) this.pos += 4;
    else throw new ProtobufError(`wire type ${wire} (groups are not used by the Kubernetes API)`);
  }
}

/** A map<string, string> entry: key 1, value 2 (either may be absent: the empty string). */
function readEntry(r: Reader, end: number, name: string): [string, string] {
  let key = '';
  let value = '';
  while (r.pos < end) {
    const tag = r.varint();
    if ((tag & 7) !== LEN) {
      r.skip(tag & 7, end);
      continue;
    }
    const e = r.end(end);
    if (tag >>> 3 === 1) key = utf8(r.buf, r.pos, e);
    else if (tag >>> 3 === 2) value = utf8(r.buf, r.pos, e);
    r.pos = e;
  }
  if (r.pos !== end) throw new ProtobufError(`an entry of ${name} runs past its length`);
  return [key, value];
}

type Wire = Record<string, unknown>;

/** Each field's tag (number and wire type, as it starts the field on the wire), by JSON name. */
function tagsOf(m: Message): Record<string, number> {
  const tags: Record<string, number> = {};
  for (const f of m.fields) tags[f.name] = f.n * 8 + wireOf(f);
  return tags;
}

const wireOf = (f: Field) => (f.type === 'bool' || f.type === 'int32' || f.type === 'int64' ? VARINT : LEN);

/** A tag no case took: a field the model does not read is skipped; a field it reads, with another
 *  wire type than the table's, is an error naming it. */
function other(r: Reader, tag: number, end: number, m: Message): void {
  const field = m.fields.find((f) => f.n === tag >>> 3);
  if (field && !field.skip)
    throw new ProtobufError(
      `${m.name}.${field.name} (field ${field.n}) has wire type ${tag & 7}, want ${wireOf(field)}`,
    );
  r.skip(tag & 7, end);
}

const push = (o: Wire, key: string, v: unknown) => ((o[key] ??= []) as unknown[]).push(v);
const put = (o: Wire, key: string, [k, v]: [string, string]) => (((o[key] ??= {}) as Record<string, string>)[k] = v);

// The decoders, one per message: a switch on the tag, the cases named by the table's fields.
const M = tagsOf(OBJECT_META);
function objectMeta(r: Reader, end: number): Wire {
  const o: Wire = {};
  while (r.pos < end) {
    const tag = r.varint();
    if (tag === M.name) o.name = r.string(end);
    else if (tag === M.namespace) o.namespace = r.string(end);
    else if (tag === M.resourceVersion) o.resourceVersion = r.string(end);
    else if (tag === M.labels) put(o, 'labels', readEntry(r, r.end(end), 'ObjectMeta.labels'));
    else if (tag === M.annotations) put(o, 'annotations', readEntry(r, r.end(end), 'ObjectMeta.annotations'));
    else other(r, tag, end, OBJECT_META);
  }
  return r.ended(end, o, 'ObjectMeta');
}

const C = tagsOf(ENDPOINT_CONDITIONS);
function conditions(r: Reader, end: number): Wire {
  const o: Wire = {};
  while (r.pos < end) {
    const tag = r.varint();
    if (tag === C.ready) o.ready = r.varint() !== 0;
    else if (tag === C.serving) o.serving = r.varint() !== 0;
    else if (tag === C.terminating) o.terminating = r.varint() !== 0;
    else other(r, tag, end, ENDPOINT_CONDITIONS);
  }
  return r.ended(end, o, 'EndpointConditions');
}

const H = tagsOf(ENDPOINT_HINTS);
function hints(r: Reader, end: number): Wire {
  const o: Wire = {};
  while (r.pos < end) {
    const tag = r.varint();
    if (tag === H.forZones) push(o, 'forZones', named(r, r.end(end), 'ForZone'));
    else if (tag === H.forNodes) push(o, 'forNodes', named(r, r.end(end), 'ForNode'));
    else other(r, tag, end, ENDPOINT_HINTS);
  }
  return r.ended(end, o, 'EndpointHints');
}

/** ForZone, ForNode: {name = 1}. */
function named(r: Reader, end: number, what: string): Wire {
  const o: Wire = {};
  while (r.pos < end) {
    const tag = r.varint();
    if (tag === ((1 << 3) | LEN)) o.name = r.string(end);
    else r.skip(tag & 7, end);
  }
  return r.ended(end, o, what);
}

const E = tagsOf(ENDPOINT);
function endpoint(r: Reader, end: number): Wire {
  const o: Wire = {};
  while (r.pos < end) {
    const tag = r.varint();
    if (tag === E.addresses) push(o, 'addresses', r.string(end));
    else if (tag === E.conditions) o.conditions = conditions(r, r.end(end));
    else if (tag === E.nodeName) o.nodeName = r.string(end);
    else if (tag === E.zone) o.zone = r.string(end);
    else if (tag === E.hostname) o.hostname = r.string(end);
    else if (tag === E.hints) o.hints = hints(r, r.end(end));
    else other(r, tag, end, ENDPOINT);
  }
  return r.ended(end, o, 'Endpoint');
}

const P = tagsOf(ENDPOINT_PORT);
function port(r: Reader, end: number): Wire {
  const o: Wire = {};
  while (r.pos < end) {
    const tag = r.varint();
    if (tag === P.name) o.name = r.string(end);
    else if (tag === P.protocol) o.protocol = r.string(end);
    else if (tag === P.port) o.port = r.int32();
    else if (tag === P.appProtocol) o.appProtocol = r.string(end);
    else other(r, tag, end, ENDPOINT_PORT);
  }
  return r.ended(end, o, 'EndpointPort');
}

const S = tagsOf(ENDPOINT_SLICE);
function endpointSlice(r: Reader, end: number): Wire {
  const o: Wire = {};
  while (r.pos < end) {
    const tag = r.varint();
    if (tag === S.endpoints) push(o, 'endpoints', endpoint(r, r.end(end)));
    else if (tag === S.metadata) o.metadata = objectMeta(r, r.end(end));
    else if (tag === S.ports) push(o, 'ports', port(r, r.end(end)));
    else if (tag === S.addressType) o.addressType = r.string(end);
    else other(r, tag, end, ENDPOINT_SLICE);
  }
  return r.ended(end, o, 'EndpointSlice');
}

const L = tagsOf(LIST_META);
function listMeta(r: Reader, end: number): { resourceVersion?: string; continue?: string } {
  const o: { resourceVersion?: string; continue?: string } = {};
  while (r.pos < end) {
    const tag = r.varint();
    if (tag === L.resourceVersion) o.resourceVersion = r.string(end);
    else if (tag === L.continue) o.continue = r.string(end);
    else other(r, tag, end, LIST_META);
  }
  return r.ended(end, o, 'ListMeta');
}

/** The decoders of the kinds whose lists come in protobuf (PROTOBUF_LISTS). */
const ITEM: Readonly<Record<string, (r: Reader, end: number) => Wire>> = { EndpointSlice: endpointSlice };

/**
 * The List of @kind in @body (a whole protobuf response): `metadata` and `items`, each item handed
 * to @each as soon as it is decoded (no page of wire objects is built first), in the shape
 * JSON.parse of the JSON response would give, less the fields the table skips.
 */
export function decodeList<T>(
  body: Buffer,
  kind: string,
  each: (item: Wire) => T,
): { metadata: { resourceVersion?: string; continue?: string }; items: T[]; kind?: string; apiVersion?: string } {
  const item = ITEM[kind];
  if (!item) throw new ProtobufError(`no protobuf decoder for ${kind}`);
  if (body.length < 4 || !body.subarray(0, 4).equals(PROTOBUF_MAGIC))
    throw new ProtobufError('the body does not start with the protobuf magic k8s\\0');
  const r = new Reader(body, 4);
  let typeMeta: { apiVersion?: string; kind?: string } = {};
  let raw: [number, number] | undefined;
  while (r.pos < body.length) {
    const tag = r.varint();
    if (tag === ((UNKNOWN_FIELDS.typeMeta << 3) | LEN)) typeMeta = readTypeMeta(r, r.end(body.length));
    else if (tag === ((UNKNOWN_FIELDS.raw << 3) | LEN)) {
      const e = r.end(body.length);
      raw = [r.pos, e];
      r.pos = e;
    } else r.skip(tag & 7, body.length);
  }
  if (!raw) throw new ProtobufError('the Unknown envelope has no raw object');
  const [start, end] = raw;
  let metadata: { resourceVersion?: string; continue?: string } = {};
  const items: T[] = [];
  r.pos = start;
  while (r.pos < end) {
    const tag = r.varint();
    if (tag === ((LIST_FIELDS.items << 3) | LEN)) items.push(each(item(r, r.end(end))));
    else if (tag === ((LIST_FIELDS.metadata << 3) | LEN)) metadata = listMeta(r, r.end(end));
    else r.skip(tag & 7, end);
  }
  return { metadata, items, ...typeMeta };
}

/** The message of a meta/v1 Status (an error response in protobuf): field 3 of the raw object. */
export function decodeStatusMessage(body: Buffer): string {
  const r = new Reader(body, 4);
  if (!body.subarray(0, 4).equals(PROTOBUF_MAGIC)) throw new ProtobufError('no protobuf magic');
  while (r.pos < body.length) {
    const tag = r.varint();
    if (tag !== ((UNKNOWN_FIELDS.raw << 3) | LEN)) {
      r.skip(tag & 7, body.length);
      continue;
    }
    const end = r.end(body.length);
    while (r.pos < end) {
      const t = r.varint();
      if (t === ((3 << 3) | LEN)) return r.string(end);
      r.skip(t & 7, end);
    }
  }
  throw new ProtobufError('a Status with no message');
}

/** runtime.TypeMeta: apiVersion 1, kind 2. */
function readTypeMeta(r: Reader, end: number): { apiVersion?: string; kind?: string } {
  const o: { apiVersion?: string; kind?: string } = {};
  while (r.pos < end) {
    const tag = r.varint();
    if (tag === ((TYPE_META_FIELDS.apiVersion << 3) | LEN)) o.apiVersion = r.string(end);
    else if (tag === ((TYPE_META_FIELDS.kind << 3) | LEN)) o.kind = r.string(end);
    else r.skip(tag & 7, end);
  }
  return r.ended(end, o, 'TypeMeta');
}
