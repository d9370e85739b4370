// One codec per struct in bpf/switchyard.h, in the C field order. test/kernel/btf-layouts.test.ts
// checks every size and field offset here against the BTF of the compiled objects.
import { struct, u8, u32, u64 } from '../bpf/codec.js';
import type {
  Affinity,
  Affinity6Key,
  AffinityKey,
  Backend,
  Backend6,
  Config,
  Config6,
  Ct6Entry,
  Ct6Key,
  CtEntry,
  CtKey,
  Frag,
  Frag6Key,
  FragKey,
  Frontend,
  Frontend6Key,
  FrontendKey,
  Nat6,
  Nat,
  ServiceInfo,
  SlotKey,
  SourceRange6Key,
  SourceRangeKey,
  Stats,
} from './types.js';

export { u8, u32, u64 };

export const frontendKey = struct<FrontendKey>('sy_frontend_key', [
  ['addr', 'ipv4'],
  ['port', 'be16'],
  ['proto', 'u8'],
  ['scope', 'u8'],
]);

export const frontend = struct<Frontend>('sy_frontend', [
  ['svcId', 'u32'],
  ['setId', 'u32'],
  ['affinityTimeout', 'u32'],
  ['count', 'u16'],
  ['gen', 'u8'],
  ['flags', 'u8'],
]);

export const slotKey = struct<SlotKey>('sy_slot_key', [
  ['setId', 'u32'],
  ['slot', 'u16'],
  ['gen', 'u8'],
  ['pad', 'pad:1'],
]);

export const backend = struct<Backend>('sy_backend', [
  ['addr', 'ipv4'],
  ['port', 'be16'],
  ['flags', 'u8'],
  ['pad', 'pad:1'],
]);

/** Where a field of @codec lies (its name in the TS object). */
const offsetOf = (codec: { fields: ReadonlyArray<{ name: string; offset: number }> }, name: string) =>
  codec.fields.find((f) => f.name === name)!.offset;
const BACKEND_ADDR = offsetOf(backend, 'addr');
const BACKEND_PORT = offsetOf(backend, 'port');
const BACKEND_FLAGS = offsetOf(backend, 'flags');
const BACKEND_PAD = offsetOf(backend, 'pad');

/** The bytes backend.encode writes for {addr: intToIpv4(@ip), port, flags}, from the numbers
 *  (@ip a u32): a cold start writes 100,000 backends from BackendTable's columns, and an object
 *  and an address string each was garbage for nothing. The codec's own offsets, so BTF checks
 *  them with it (test/unit/abi-backend-parts.test.ts compares the two encodings). */
export function encodeBackendParts(ip: number, port: number, flags: number, buf: Buffer, off: number): void {
  buf.writeUInt32BE(ip, off + BACKEND_ADDR);
  buf.writeUInt16BE(port, off + BACKEND_PORT);
  buf.writeUInt8(flags, off + BACKEND_FLAGS);
  buf[off + BACKEND_PAD] = 0;
}

export const ctKey = struct<CtKey>('sy_ct_key', [
  ['saddr', 'ipv4'],
  ['daddr', 'ipv4'],
  ['sport', 'be16'],
  ['dport', 'be16'],
  ['proto', 'u8'],
  ['dir', 'u8'],
  ['pad', 'pad:2'],
]);

export const nat = struct<Nat>('sy_nat', [
  ['saddr', 'ipv4'],
  ['daddr', 'ipv4'],
  ['sport', 'be16'],
  ['dport', 'be16'],
]);

export const ctEntry = struct<CtEntry>('sy_ct_entry', [
  ['lastSeenNs', 'u64'],
  ['nat', nat],
  ['backendId', 'u32'],
  ['svcId', 'u32'],
  ['flags', 'u8'],
  ['pad', 'pad:7'],
]);

export const affinityKey = struct<AffinityKey>('sy_affinity_key', [
  ['setId', 'u32'],
  ['clientAddr', 'ipv4'],
]);

export const affinity = struct<Affinity>('sy_affinity', [
  ['lastUsedNs', 'u64'],
  ['backendId', 'u32'],
  ['pad', 'pad:4'],
]);

export const stats = struct<Stats>('sy_stats', [
  ['packets', 'u64'],
  ['bytes', 'u64'],
  ['newFlows', 'u64'],
  ['noBackend', 'u64'],
]);

export const serviceInfo = struct<ServiceInfo>('sy_service_info', [
  ['name', 'cstr:96'],
  ['type', 'u8'],
  ['pad', 'pad:3'],
]);

export const config = struct<Config>('sy_config', [
  ['snatAddr', 'ipv4'],
  ['podNet', 'ipv4'],
  ['podMask', 'ipv4'],
]);

export const sourceRangeKey = struct<SourceRangeKey>('sy_source_range_key', [
  ['prefixlen', 'u32'],
  ['svcId', 'u32'],
  ['addr', 'ipv4'],
]);

/** Every struct codec of switchyard.h, for the BTF check. */
export const allStructs = {
  frontendKey,
  frontend,
  slotKey,
  backend,
  ctKey,
  nat,
  ctEntry,
  affinityKey,
  affinity,
  stats,
  serviceInfo,
  config,
  sourceRangeKey,
  get fragKey() {
    return fragKey;
  },
  get frag() {
    return frag;
  },
  get frontend6Key() {
    return frontend6Key;
  },
  get backend6() {
    return backend6;
  },
  get ct6Key() {
    return ct6Key;
  },
  get ct6Entry() {
    return ct6Entry;
  },
  get affinity6Key() {
    return affinity6Key;
  },
  get config6() {
    return config6;
  },
  get sourceRange6Key() {
    return sourceRange6Key;
  },
  get frag6Key() {
    return frag6Key;
  },
};

// ---- Data-path hardening (issue 13): the end block of bpf/switchyard.h. ----
export const fragKey = struct<FragKey>('sy_frag_key', [
  ['saddr', 'ipv4'],
  ['daddr', 'ipv4'],
  ['id', 'be16'],
  ['proto', 'u8'],
  ['pad', 'pad:1'],
]);

export const frag = struct<Frag>('sy_frag', [
  ['firstSeenNs', 'u64'],
  ['sport', 'be16'],
  ['dport', 'be16'],
  ['pad', 'pad:4'],
]);

// ---- IPv6 (issue 15): the per-family structs of bpf/switchyard.h. The maps frontends6 (value
// frontend), backends6 (key u32, the same backend id space as backends), conntrack6 and ct_new6,
// affinity6 (value affinity), config6, source_ranges6 and frags6 (value frag).
export const frontend6Key = struct<Frontend6Key>('sy_frontend6_key', [
  ['addr', 'ipv6'],
  ['port', 'be16'],
  ['proto', 'u8'],
  ['scope', 'u8'],
]);

export const backend6 = struct<Backend6>('sy_backend6', [
  ['addr', 'ipv6'],
  ['port', 'be16'],
  ['flags', 'u8'],
  ['pad', 'pad:1'],
]);

export const ct6Key = struct<Ct6Key>('sy_ct6_key', [
  ['saddr', 'ipv6'],
  ['daddr', 'ipv6'],
  ['sport', 'be16'],
  ['dport', 'be16'],
  ['proto', 'u8'],
  ['dir', 'u8'],
  ['pad', 'pad:2'],
]);

export const nat6 = struct<Nat6>('sy_nat6', [
  ['saddr', 'ipv6'],
  ['daddr', 'ipv6'],
  ['sport', 'be16'],
  ['dport', 'be16'],
]);

export const ct6Entry = struct<Ct6Entry>('sy_ct6_entry', [
  ['lastSeenNs', 'u64'],
  ['nat', nat6],
  ['backendId', 'u32'],
  ['svcId', 'u32'],
  ['flags', 'u8'],
  ['pad', 'pad:3'],
]);

export const affinity6Key = struct<Affinity6Key>('sy_affinity6_key', [
  ['setId', 'u32'],
  ['clientAddr', 'ipv6'],
]);

export const config6 = struct<Config6>('sy_config6', [
  ['snatAddr', 'ipv6'],
  ['hairpinAddr', 'ipv6'],
  ['podNet', 'ipv6'],
  ['podMask', 'ipv6'],
]);

export const sourceRange6Key = struct<SourceRange6Key>('sy_source_range6_key', [
  ['prefixlen', 'u32'],
  ['svcId', 'u32'],
  ['addr', 'ipv6'],
]);

export const frag6Key = struct<Frag6Key>('sy_frag6_key', [
  ['saddr', 'ipv6'],
  ['daddr', 'ipv6'],
  ['id', 'u32', 'id'],
  ['proto', 'u8'],
  ['pad', 'pad:3'],
]);
