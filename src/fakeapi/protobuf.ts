// The double's protobuf encoder: an object (JSON) → its Kubernetes protobuf bytes, by the table in
// src/util/k8s-protobuf.ts, and the List response those bytes go in. A real API server answers a
// list in protobuf when the client asks for it (Accept) and the kind has a protobuf encoding; so
// does the double, for the kinds the table has. Fields are written in field-number order, each
// only when the object has it, as Go's generated marshallers do for optional fields.
import {
  LEN,
  LIST_FIELDS,
  LIST_META,
  PROTOBUF_MAGIC,
  TYPE_META_FIELDS,
  UNKNOWN_FIELDS,
  VARINT,
  type Field,
  type Message,
} from '../util/k8s-protobuf.js';

class Writer {
  buf = Buffer.allocUnsafe(1024); // under half of Buffer.poolSize: from the pool
  len = 0;

  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  varint(v: number): void {
    this.room(10);
    if (v < 0) {
      // A negative int32 or int64: ten bytes of two's complement, as Go writes it.
      let big = BigInt.asUintN(64, BigInt(v));
      while (big >= 0x80n) {
        this.buf[this.len++] = Number(big & 0x7fn) | 0x80;
        big >>= 7n;
      }
      this.buf[this.len++] = Number(big);
      return;
    }
    while (v >= 0x80) {
      this.buf[this.len++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.len++] = v;
  }

  tag(n: number, wire: number): void {
    this.varint(n * 8 + wire);
  }

  string(n: number, s: string): void {
    this.tag(n, LEN);
    // Short ASCII text (names, addresses, versions: nearly all of it) byte by byte: a call into
    // Buffer's native write per string was most of what an object cost to encode.
    if (s.length < 0x80) {
      this.room(1 + s.length);
      const start = this.len + 1;
      let i = 0;
      for (; i < s.length; i++) {
        const c = s.charCodeAt(i);
        if (c > 0x7f) break;
        this.buf[start + i] = c;
      }
      if (i === s.length) {
        this.buf[this.len] = s.length;
        this.len = start + s.length;
        return;
      }
    }
    const len = Buffer.byteLength(s);
    this.varint(len);
    this.room(len);
    this.len += this.buf.write(s, this.len, 'utf8');
  }

  /** A length-delimited field whose body @body writes: its length is known once written, so it
   *  is moved up when its varint takes more than the one byte kept for it. */
  nested(n: number, body: () => void): void {
    this.tag(n, LEN);
    this.room(1);
    const at = this.len++;
    body();
    const size = this.len - at - 1;
    const extra = varintSize(size) - 1;
    if (extra > 0) {
      this.room(extra);
      this.buf.copyWithin(at + 1 + extra, at + 1, this.len);
      this.len += extra;
    }
    let v = size;
    let i = at;
    while (v >= 0x80) {
      this.buf[i++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[i] = v;
  }

  done(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.len));
  }
}

const varintSize = (v: number): number => {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 0x80);
    n++;
  }
  return n;
};

const ordered = new WeakMap<Message, Field[]>();

function writeMessage(w: Writer, m: Message, obj: Record<string, unknown>): void {
  let fields = ordered.get(m);
  if (!fields) ordered.set(m, (fields = [...m.fields].sort((a, b) => a.n - b.n)));
  for (const field of fields) {
    const value = obj[field.name];
    if (value === undefined || value === null) continue;
    if (field.repeated) {
      if (Array.isArray(value)) for (const v of value) writeValue(w, field, v);
    } else writeValue(w, field, value);
  }
}

function writeValue(w: Writer, field: Field, v: unknown): void {
  const t = field.type;
  if (t === 'string') {
    if (typeof v === 'string') w.string(field.n, v);
  } else if (t === 'bool') {
    if (typeof v === 'boolean') {
      w.tag(field.n, VARINT);
      w.varint(v ? 1 : 0);
    }
  } else if (t === 'int32' || t === 'int64') {
    if (typeof v === 'number' && Number.isSafeInteger(v)) {
      w.tag(field.n, VARINT);
      w.varint(v);
    }
  } else if (t === 'time') {
    const ms = typeof v === 'string' ? Date.parse(v) : Number.NaN;
    if (!Number.isNaN(ms))
      w.nested(field.n, () => {
        w.tag(1, VARINT);
        w.varint(Math.floor(ms / 1000));
      });
  } else if (t === 'map') {
    if (typeof v !== 'object') return;
    for (const [key, value] of Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (typeof value !== 'string') continue;
      w.nested(field.n, () => {
        w.string(1, key);
        w.string(2, value);
      });
    }
  } else if (typeof v === 'object' && !Array.isArray(v)) {
    w.nested(field.n, () => writeMessage(w, t, v as Record<string, unknown>));
  }
}

const TYPE_META: Message = {
  name: 'TypeMeta',
  fields: [
    { n: TYPE_META_FIELDS.apiVersion, name: 'apiVersion', type: 'string' },
    { n: TYPE_META_FIELDS.kind, name: 'kind', type: 'string' },
  ],
};

const scratch = new Writer(); // one, written from the start for each object

/** @obj as the protobuf message @m (the bytes a List's item field holds). */
export function encodeObject(m: Message, obj: Record<string, unknown>): Buffer {
  scratch.len = 0;
  writeMessage(scratch, m, obj);
  return scratch.done();
}

/**
 * A whole List response: the magic, then runtime.Unknown {typeMeta, raw: the List, contentEncoding
 * and contentType empty}. @items are encodeObject's bytes of each item, copied once, into a body
 * sized before it is written: a page is ~100 KiB, and a growing buffer copied it four times.
 */
export function encodeList(
  typeMeta: { apiVersion: string; kind: string },
  metadata: { resourceVersion: string; continue?: string },
  items: readonly Buffer[],
): Buffer {
  const head = new Writer();
  head.nested(UNKNOWN_FIELDS.typeMeta, () => writeMessage(head, TYPE_META, typeMeta));
  const listMeta = new Writer();
  listMeta.nested(LIST_FIELDS.metadata, () => writeMessage(listMeta, LIST_META, metadata));
  let rawLen = listMeta.len;
  for (const item of items) rawLen += 1 + varintSize(item.length) + item.length;
  head.tag(UNKNOWN_FIELDS.raw, LEN);
  head.varint(rawLen);
  const tail = new Writer();
  tail.string(UNKNOWN_FIELDS.contentEncoding, '');
  tail.string(UNKNOWN_FIELDS.contentType, '');

  const out = Buffer.allocUnsafe(PROTOBUF_MAGIC.length + head.len + rawLen + tail.len);
  let at = PROTOBUF_MAGIC.copy(out, 0);
  at += head.buf.copy(out, at, 0, head.len);
  at += listMeta.buf.copy(out, at, 0, listMeta.len);
  const itemTag = LIST_FIELDS.items * 8 + LEN; // one byte
  for (const item of items) {
    out[at++] = itemTag;
    for (let v = item.length; ; v = Math.floor(v / 0x80)) {
      if (v < 0x80) {
        out[at++] = v;
        break;
      }
      out[at++] = (v % 0x80) | 0x80;
    }
    at += item.copy(out, at);
  }
  tail.buf.copy(out, at, 0, tail.len);
  return out;
}
