// TypeScript views of the structs in bpf/switchyard.h. Addresses are dotted IPv4 strings and
// ports host-order numbers here; the codecs in layouts.ts convert to the kernel's byte order.
// Field names follow the C names (camelCase), so a reader can hold the two side by side.

export interface FrontendKey {
  addr: string;
  port: number;
  proto: number;
  scope: number;
}
export interface Frontend {
  svcId: number;
  setId: number;
  affinityTimeout: number;
  count: number;
  gen: number;
  flags: number;
}
export interface SlotKey {
  setId: number;
  slot: number;
  gen: number;
}
export interface Backend {
  addr: string;
  port: number;
  flags: number;
}
export interface CtKey {
  saddr: string;
  daddr: string;
  sport: number;
  dport: number;
  proto: number;
  dir: number;
}
export interface Nat {
  saddr: string;
  daddr: string;
  sport: number;
  dport: number;
}
export interface CtEntry {
  lastSeenNs: bigint;
  nat: Nat;
  backendId: number;
  svcId: number;
  flags: number;
}
export interface AffinityKey {
  setId: number;
  clientAddr: string;
}
export interface Affinity {
  lastUsedNs: bigint;
  backendId: number;
}
export interface Stats {
  packets: bigint;
  bytes: bigint;
  newFlows: bigint;
  noBackend: bigint;
}

/** service_info value: "namespace/name:port/PROTO" and an SVC_* code. */
export interface ServiceInfo {
  name: string;
  type: number;
}

/** config[0]: node settings. snatAddr '0.0.0.0' = SNAT to the frontend address. podNet/podMask:
 *  the IPv4 pod range (--cluster-cidr); mask '0.0.0.0' = not given. */
export interface Config {
  snatAddr: string;
  podNet: string;
  podMask: string;
}
/** source_ranges key: prefixlen counts the 32 bits of svcId too (32 + the CIDR's length). */
export interface SourceRangeKey {
  prefixlen: number;
  svcId: number;
  addr: string;
}
/** frags map: the ports of a fragmented datagram of a translated flow, by its first fragment. */
export interface FragKey {
  saddr: string;
  daddr: string;
  id: number;
  proto: number;
}
export interface Frag {
  firstSeenNs: bigint;
  sport: number;
  dport: number;
}

// ---- IPv6 (issue 15): per-family maps. Addresses are IPv6 text; the codecs decode to the canonical
// RFC 5952 form. Values without an address (Frontend, Affinity, Frag) are the IPv4 ones.
export interface Frontend6Key {
  addr: string;
  port: number;
  proto: number;
  scope: number;
}
/** backends6 value; the key is a backend id from the same id space as backends. */
export interface Backend6 {
  addr: string;
  port: number;
  flags: number;
}
export type Ct6Key = CtKey;
export type Nat6 = Nat;
export interface Ct6Entry {
  lastSeenNs: bigint;
  nat: Nat6;
  backendId: number;
  svcId: number;
  flags: number;
}
export interface Affinity6Key {
  setId: number;
  clientAddr: string;
}
/** config6[0]: snatAddr '::' = SNAT to the frontend address; hairpinAddr '::' = HAIRPIN6_ADDR.
 *  podNet/podMask: the IPv6 pod range (--cluster-cidr), as a mask like 'ffff:ffff:ffff:ff00::';
 *  mask '::' = not given. */
export interface Config6 {
  snatAddr: string;
  hairpinAddr: string;
  podNet: string;
  podMask: string;
}
/** source_ranges6 key: prefixlen counts the 32 bits of svcId too (32 + the CIDR's length). */
export type SourceRange6Key = SourceRangeKey;
/** frags6 key: id is the fragment header's 32-bit identification. */
export interface Frag6Key {
  saddr: string;
  daddr: string;
  id: number;
  proto: number;
}
