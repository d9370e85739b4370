// One codec per struct in bpf/switchyard.h, in the C field order. test/kernel/btf-layouts.test.ts
// checks every size and field offset here against the BTF of the compiled objects.
import { struct, u8, u32, u64 } from '../bpf/codec.js';
import type {
  Affinity,
  AffinityKey,
  Backend,
  Config,
  CtEntry,
  CtKey,
  Frag,
  FragKey,
  Frontend,
  FrontendKey,
  Nat,
  ServiceInfo,
  SlotKey,
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

export const config = struct<Config>('sy_config', [['snatAddr', 'ipv4']]);

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
