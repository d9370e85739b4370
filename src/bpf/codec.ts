// A small struct codec builder: one codec per C struct, knowing its C name, its size and every
// field's C name, offset and size (so a test can compare it against the object's BTF). Offsets follow
// C's rules (natural alignment, tail padding to the struct's alignment) so a codec that is written in
// the same order as the C struct lands on the same bytes; the BTF test catches any drift.
//
// Field kinds: u8 u16 u32 (number), u64 (bigint), be16 be32 (host-order number <-> network order),
// ipv4 (dotted string <-> 4 bytes in network order), ipv6 (any IPv6 text <-> 16 bytes in network
// order, decoded to the canonical RFC 5952 form; a C __be32[4]), pad:N (zeros, not decoded), or a nested struct.
import { ipv4ToInt } from '../net/ipv4.js';
import { formatIpv6, writeIpv6 } from '../net/ipv6.js';

export interface Codec<T> {
  readonly size: number;
  encode(value: T, buf: Buffer, offset?: number): void;
  decode(buf: Buffer, offset?: number): T;
}

export type ScalarKind = 'u8' | 'u16' | 'u32' | 'u64' | 'be16' | 'be32' | 'ipv4' | 'ipv6';
// biome-ignore lint/suspicious/noExplicitAny: a nested struct of any shape; its own codec types it
export type FieldKind = ScalarKind | `pad:${number}` | `cstr:${number}` | StructCodec<any>;
/** [tsName, kind] or [tsName, kind, cName]; the C name defaults to tsName in snake_case. */
export type FieldSpec = readonly [string, FieldKind] | readonly [string, FieldKind, string];

export interface FieldLayout {
  /** Property name in the TS object (pad fields have none in the object). */
  readonly name: string;
  /** Member name in the C struct. */
  readonly cName: string;
  readonly offset: number;
  readonly size: number;
  readonly kind: string;
  readonly struct?: StructCodec<unknown>;
}

export interface StructCodec<T> extends Codec<T> {
  /** The C struct name without `struct`, e.g. "sy_frontend_key"; for scalars the C type, e.g. "__u32". */
  readonly cName: string;
  readonly align: number;
  readonly fields: readonly FieldLayout[];
}

/** A value that does not fit its field, or a buffer too small for the struct. */
export class CodecError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = 'CodecError';
  }
}

const SCALAR_SIZE: Record<ScalarKind, number> = { u8: 1, u16: 2, u32: 4, u64: 8, be16: 2, be32: 4, ipv4: 4, ipv6: 16 };
const MAX: Record<string, number> = { u8: 0xff, u16: 0xffff, be16: 0xffff, u32: 0xffffffff, be32: 0xffffffff };
const U64_MAX = (1n << 64n) - 1n;

export const snakeCase = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

function parseIpv4(s: unknown, where: string): number {
  const v = typeof s === 'string' ? ipv4ToInt(s) : -1;
  if (v < 0) throw new CodecError(`${where}: invalid IPv4 address ${JSON.stringify(s)}`);
  return v;
}

export const formatIpv4 = (buf: Buffer, off: number) => `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`;

type Enc = (v: unknown, buf: Buffer, off: number) => void;
type Dec = (buf: Buffer, off: number) => unknown;

function writeU32LE(v: number, b: Buffer, o: number): void {
  b[o] = v;
  b[o + 1] = v >>> 8;
  b[o + 2] = v >>> 16;
  b[o + 3] = v >>> 24;
}

function writeU32BE(v: number, b: Buffer, o: number): void {
  b[o] = v >>> 24;
  b[o + 1] = v >>> 16;
  b[o + 2] = v >>> 8;
  b[o + 3] = v;
}

function intError(v: unknown, kind: string, where: string): CodecError {
  return new CodecError(
    `${where}: expected an integer 0..${MAX[kind]} for ${kind}, got ${typeof v === 'bigint' ? `${v}n` : JSON.stringify(v)}`,
  );
}

// The encoders run per field per map entry (230,000 entries at a cold start of 10,000 Services):
// the range checks are one compare on a number already known to be one, and the bytes are stored
// directly, as Buffer's write* methods would check the range and offset again.
function scalarOps(kind: ScalarKind, where: string): [Enc, Dec] {
  switch (kind) {
    case 'u8':
      return [
        (v, b, o) => {
          if (typeof v !== 'number' || (v & 0xff) !== v) throw intError(v, kind, where);
          b[o] = v;
        },
        (b, o) => b[o],
      ];
    case 'u16':
      return [
        (v, b, o) => {
          if (typeof v !== 'number' || (v & 0xffff) !== v) throw intError(v, kind, where);
          b[o] = v;
          b[o + 1] = v >>> 8;
        },
        (b, o) => b.readUInt16LE(o),
      ];
    case 'u32':
      return [
        (v, b, o) => {
          if (typeof v !== 'number' || v >>> 0 !== v) throw intError(v, kind, where);
          writeU32LE(v, b, o);
        },
        (b, o) => b.readUInt32LE(o),
      ];
    case 'be16':
      return [
        (v, b, o) => {
          if (typeof v !== 'number' || (v & 0xffff) !== v) throw intError(v, kind, where);
          b[o] = v >>> 8;
          b[o + 1] = v;
        },
        (b, o) => b.readUInt16BE(o),
      ];
    case 'be32':
      return [
        (v, b, o) => {
          if (typeof v !== 'number' || v >>> 0 !== v) throw intError(v, kind, where);
          writeU32BE(v, b, o);
        },
        (b, o) => b.readUInt32BE(o),
      ];
    case 'ipv4':
      return [
        (v, b, o) => {
          writeU32BE(parseIpv4(v, where), b, o);
        },
        formatIpv4,
      ];
    case 'ipv6':
      return [
        (v, b, o) => {
          if (!writeIpv6(v as string, b, o))
            throw new CodecError(`${where}: invalid IPv6 address ${JSON.stringify(v)}`);
        },
        formatIpv6,
      ];
    case 'u64':
      return [
        (v, b, o) => {
          const n = typeof v === 'number' && Number.isSafeInteger(v) ? BigInt(v) : v;
          if (typeof n !== 'bigint' || n < 0n || n > U64_MAX)
            throw new CodecError(
              `${where}: expected a bigint 0..2^64-1 for u64, got ${JSON.stringify(typeof v === 'bigint' ? `${v}n` : v)}`,
            );
          b.writeBigUInt64LE(n, o);
        },
        (b, o) => b.readBigUInt64LE(o),
      ];
  }
}

function checkRoom(cName: string, size: number, buf: Buffer, off: number, op: string): void {
  if (!Buffer.isBuffer(buf) || off < 0 || !Number.isInteger(off) || buf.length - off < size) {
    throw new CodecError(
      `${cName}: ${op} needs ${size} bytes at offset ${off}, buffer has ${Buffer.isBuffer(buf) ? buf.length : typeof buf}`,
    );
  }
}

/** A codec for a C struct. Field order must follow the C struct. */
// biome-ignore lint/complexity/noExcessiveLinesPerFunction: one pass that lays out each field and builds its encoder and decoder; split, the offset arithmetic would be scattered
export function struct<T>(cName: string, specs: readonly FieldSpec[]): StructCodec<T> {
  const fields: FieldLayout[] = [];
  const encs: Array<[string, number, Enc | null]> = [];
  const decs: Array<[string, number, Dec]> = [];
  const encNames: string[] = [],
    encOffs: number[] = [],
    encFns: Enc[] = [];
  let off = 0;
  let align = 1;
  for (const [name, kind, cn] of specs) {
    const fcName = cn ?? (typeof kind === 'string' && kind.startsWith('pad:') ? name : snakeCase(name));
    const where = `${cName}.${fcName}`;
    if (typeof kind === 'object') {
      off = Math.ceil(off / kind.align) * kind.align;
      align = Math.max(align, kind.align);
      const nested = kind;
      fields.push({
        name,
        cName: fcName,
        offset: off,
        size: nested.size,
        kind: `struct ${nested.cName}`,
        struct: nested,
      });
      encs.push([
        name,
        off,
        (v, b, o) => {
          if (typeof v !== 'object' || v === null)
            throw new CodecError(`${where}: expected an object, got ${JSON.stringify(v)}`);
          nested.encode(v, b, o);
        },
      ]);
      decs.push([name, off, (b, o) => nested.decode(b, o)]);
      off += nested.size;
    } else if (kind.startsWith('cstr:')) {
      // char name[N]: UTF-8, NUL-padded; a longer string is cut at N-1 bytes so it stays terminated.
      const n = Number(kind.slice(5));
      if (!Number.isInteger(n) || n <= 1) throw new Error(`${where}: bad string size ${kind}`);
      fields.push({ name, cName: fcName, offset: off, size: n, kind });
      encs.push([
        name,
        off,
        (v, b, o) => {
          if (typeof v !== 'string') throw new CodecError(`${where}: expected a string, got ${JSON.stringify(v)}`);
          b.fill(0, o, o + n);
          b.write(v, o, n - 1, 'utf8');
        },
      ]);
      decs.push([
        name,
        off,
        (b, o) => {
          const end = b.indexOf(0, o);
          return b.toString('utf8', o, end < 0 || end > o + n ? o + n : end);
        },
      ]);
      off += n;
    } else if (kind.startsWith('pad:')) {
      const n = Number(kind.slice(4));
      if (!Number.isInteger(n) || n <= 0) throw new Error(`${where}: bad pad size ${kind}`);
      fields.push({ name, cName: fcName, offset: off, size: n, kind });
      encs.push([name, off, null]);
      off += n;
    } else {
      const size = SCALAR_SIZE[kind as ScalarKind];
      if (!size) throw new Error(`${where}: unknown field kind ${kind}`);
      const a = kind === 'ipv4' || kind === 'ipv6' ? 4 : size;
      off = Math.ceil(off / a) * a;
      align = Math.max(align, a);
      fields.push({ name, cName: fcName, offset: off, size, kind });
      const [enc, dec] = scalarOps(kind as ScalarKind, where);
      encs.push([name, off, enc]);
      decs.push([name, off, dec]);
      off += size;
    }
  }
  const size = Math.ceil(off / align) * align;
  for (const [name, o, enc] of encs)
    if (enc) {
      encNames.push(name);
      encOffs.push(o);
      encFns.push(enc);
    }
  const nEnc = encFns.length;
  // Padding (explicit and implicit) is always zero: the bytes no field covers, stored one by one,
  // as they are a few (a Buffer.fill per entry cost more than the rest of a small struct's encode).
  const covered = new Uint8Array(size);
  for (const f of fields) if (!f.kind.startsWith('pad:')) covered.fill(1, f.offset, f.offset + f.size);
  const padBytes = Int32Array.from(covered.keys()).filter((i) => covered[i] === 0);
  const nPad = padBytes.length;
  return {
    cName,
    size,
    align,
    fields,
    encode(value: T, buf: Buffer, offset = 0): void {
      checkRoom(cName, size, buf, offset, 'encode');
      if (typeof value !== 'object' || value === null)
        throw new CodecError(`${cName}: expected an object, got ${JSON.stringify(value)}`);
      for (let i = 0; i < nPad; i++) buf[offset + padBytes[i]] = 0;
      const v = value as Record<string, unknown>;
      for (let i = 0; i < nEnc; i++) encFns[i](v[encNames[i]], buf, offset + encOffs[i]);
    },
    decode(buf: Buffer, offset = 0): T {
      checkRoom(cName, size, buf, offset, 'decode');
      const out: Record<string, unknown> = {};
      for (const [name, o, dec] of decs) out[name] = dec(buf, offset + o);
      return out as T;
    },
  };
}

/** A codec for a plain scalar key or value, e.g. a __u32 backend id. */
export function scalar<T extends number | bigint | string>(kind: ScalarKind, cName: string): StructCodec<T> {
  const size = SCALAR_SIZE[kind];
  const [enc, dec] = scalarOps(kind, cName);
  return {
    cName,
    size,
    align: kind === 'ipv4' || kind === 'ipv6' ? 4 : size,
    fields: [],
    encode(value: T, buf: Buffer, offset = 0) {
      checkRoom(cName, size, buf, offset, 'encode');
      enc(value, buf, offset);
    },
    decode(buf: Buffer, offset = 0) {
      checkRoom(cName, size, buf, offset, 'decode');
      return dec(buf, offset) as T;
    },
  };
}

export const u8 = scalar<number>('u8', '__u8');
export const u16 = scalar<number>('u16', '__u16');
export const u32 = scalar<number>('u32', '__u32');
export const u64 = scalar<bigint>('u64', '__u64');
export const be16 = scalar<number>('be16', '__be16');
export const ipv4 = scalar<string>('ipv4', '__be32');

/** Raw bytes of a fixed size (e.g. a value nobody decodes). */
export function bytes(size: number, cName = `__u8[${size}]`): Codec<Buffer> & { readonly cName: string } {
  return {
    cName,
    size,
    encode(value: Buffer, buf: Buffer, offset = 0) {
      checkRoom(cName, size, buf, offset, 'encode');
      if (!Buffer.isBuffer(value) || value.length !== size)
        throw new CodecError(
          `${cName}: expected a Buffer of ${size} bytes, got ${Buffer.isBuffer(value) ? value.length : typeof value}`,
        );
      value.copy(buf, offset);
    },
    decode(buf: Buffer, offset = 0) {
      checkRoom(cName, size, buf, offset, 'decode');
      return Buffer.from(buf.subarray(offset, offset + size));
    },
  };
}
