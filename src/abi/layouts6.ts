// The IPv6 twins of the address-carrying structs of bpf/switchyard.h (issue 15). The design is
// per-family maps: frontends6, backends6, source_ranges6 and config6 hold the same TS types as
// their IPv4 maps (FrontendKey, Backend, ...; addresses are RFC 5952 text), only the address is
// 16 bytes. Backend ids share one id space across backends and backends6, so slots and maglev
// stay family-agnostic. These codecs are the control plane's side of that ABI; the data path
// declares the C structs (sy_frontend_key6, sy_backend6, sy_source_range_key6, sy_config6), and
// the BTF layout test covers them once both are merged.
import { struct } from '../bpf/codec.js';
import type { Backend, Config, FrontendKey, SourceRangeKey } from './types.js';

export const frontendKey6 = struct<FrontendKey>('sy_frontend_key6', [
  ['addr', 'ipv6'],
  ['port', 'be16'],
  ['proto', 'u8'],
  ['scope', 'u8'],
]);

export const backend6 = struct<Backend>('sy_backend6', [
  ['addr', 'ipv6'],
  ['port', 'be16'],
  ['flags', 'u8'],
  ['pad', 'pad:1'],
]);

export const sourceRangeKey6 = struct<SourceRangeKey>('sy_source_range_key6', [
  ['prefixlen', 'u32'],
  ['svcId', 'u32'],
  ['addr', 'ipv6'],
]);

export const config6 = struct<Config>('sy_config6', [['snatAddr', 'ipv6']]);

/** The per-family maps, by their names in the object. */
export const MAPS6 = {
  frontends: 'frontends6',
  backends: 'backends6',
  sourceRanges: 'source_ranges6',
  config: 'config6',
} as const;
