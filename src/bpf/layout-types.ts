// TypeScript views of the structs in bpf/switchyard.h. Addresses are dotted IPv4 strings and
// ports host-order numbers here; the codecs in layouts.ts convert to the kernel's byte order.
// Field names follow the C names (camelCase), so a reader can hold the two side by side.

export const SCOPE_INTERNAL = 0;
export const SCOPE_EXTERNAL = 1;

export const FE_NODEPORT = 1 << 0;
export const FE_LOCAL_ONLY = 1 << 1;
export const FE_SOURCE_RANGES = 1 << 2;

export const BE_LOCAL = 1 << 0;

export const CT_SEEN_REPLY = 1 << 0;
export const CT_CLOSING = 1 << 1;
export const CT_HAIRPIN = 1 << 2;
export const CT_NODEPORT = 1 << 3;
export const CT_FIN_FORWARD = 1 << 4;
export const CT_FIN_REPLY = 1 << 5;
export const CT_FORWARD = 0;
export const CT_REPLY = 1;

/** SNAT source ports of NodePort / external flows to remote backends (SY_SNAT_* in bpf/switchyard.h). */
export const SNAT_PORT_RANGES: ReadonlyArray<readonly [number, number]> = [[1024, 29999], [61000, 65535]];
/** How long a closed TCP flow keeps its SNAT port (SY_SNAT_TCP_REUSE_S). */
export const SNAT_TCP_REUSE_S = 65;
export const isSnatPort = (port: number) => SNAT_PORT_RANGES.some(([lo, hi]) => port >= lo && port <= hi);

/** counters map indices (SY_CNT_*). */
export const CNT_SNAT_EXHAUSTED = 0;
export const CNT_SOURCE_DENIED = 1;
export const CNT_FIB_PASSED = 2;

export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;

export interface FrontendKey { addr: string; port: number; proto: number; scope: number }
export interface Frontend { svcId: number; setId: number; affinityTimeout: number; count: number; gen: number; flags: number }
export interface SlotKey { setId: number; slot: number; gen: number }
export interface Backend { addr: string; port: number; flags: number }
export interface CtKey { saddr: string; daddr: string; sport: number; dport: number; proto: number; dir: number }
export interface Nat { saddr: string; daddr: string; sport: number; dport: number }
export interface CtEntry { lastSeenNs: bigint; nat: Nat; backendId: number; svcId: number; flags: number }
export interface AffinityKey { setId: number; clientAddr: string }
export interface Affinity { lastUsedNs: bigint; backendId: number }
export interface Stats { packets: bigint; bytes: bigint; newFlows: bigint; noBackend: bigint }

export const SVC_CLUSTER_IP = 0;
export const SVC_NODE_PORT = 1;
export const SVC_LOAD_BALANCER = 2;
/** service_info.type ↔ the Service type's name. */
export const SERVICE_TYPE_CODES: Record<string, number> = { ClusterIP: SVC_CLUSTER_IP, NodePort: SVC_NODE_PORT, LoadBalancer: SVC_LOAD_BALANCER };
export const SERVICE_TYPE_NAMES: Record<number, string> = Object.fromEntries(Object.entries(SERVICE_TYPE_CODES).map(([n, c]) => [c, n]));
export interface ServiceInfo { name: string; type: number }

/** config[0]: node settings. snatAddr '0.0.0.0' = SNAT to the frontend address. */
export interface Config { snatAddr: string }
/** source_ranges key: prefixlen counts the 32 bits of svcId too (32 + the CIDR's length). */
export interface SourceRangeKey { prefixlen: number; svcId: number; addr: string }

// ---- Data-path hardening (issue 13): the end block of bpf/switchyard.h. ----
/** More counters indices (SY_CNT_*). */
export const CNT_CT_COLLISION = 3;
export const CNT_FRAG_NEEDED = 4;
export const CNT_ICMP_XLATED = 5;
/** frags map: the ports of a fragmented datagram of a translated flow, by its first fragment. */
export interface FragKey { saddr: string; daddr: string; id: number; proto: number }
export interface Frag { firstSeenNs: bigint; sport: number; dport: number }
