// The numbers the data path and the control plane share: the enums of bpf/switchyard.h, by the
// same names without the SY_ prefix. test/kernel/btf-layouts.test.ts checks every entry of
// C_NAMES against the enums in the BTF of the compiled objects, so a value changed on one side
// only fails the build's tests instead of silently mistranslating a map entry.

/** enum sy_scope: which view of a service a packet sees (sy_frontend_key.scope). */
export const SCOPE_INTERNAL = 0;
export const SCOPE_EXTERNAL = 1;

/** enum sy_frontend_flag: sy_frontend.flags. */
export const FE_NODEPORT = 1 << 0;
export const FE_LOCAL_ONLY = 1 << 1;
export const FE_SOURCE_RANGES = 1 << 2;
/** Pick by flow hash from the set's Maglev table (the maglev map); count is the table size. */
export const FE_MAGLEV = 1 << 3;

/** enum sy_backend_flag: sy_backend.flags. */
export const BE_LOCAL = 1 << 0;

/** enum sy_ct_flag: sy_ct_entry.flags. */
export const CT_SEEN_REPLY = 1 << 0;
export const CT_CLOSING = 1 << 1;
export const CT_HAIRPIN = 1 << 2;
export const CT_NODEPORT = 1 << 3;
export const CT_FIN_FORWARD = 1 << 4;
export const CT_FIN_REPLY = 1 << 5;
/** enum sy_ct_dir: sy_ct_key.dir. */
export const CT_FORWARD = 0;
export const CT_REPLY = 1;

/** enum sy_snat: SNAT source ports of NodePort / external flows to remote backends. */
export const SNAT_LOW_MIN = 1024;
export const SNAT_LOW_MAX = 29999;
export const SNAT_HIGH_MIN = 61000;
export const SNAT_HIGH_MAX = 65535;
export const SNAT_PORT_RANGES: ReadonlyArray<readonly [number, number]> = [
  [SNAT_LOW_MIN, SNAT_LOW_MAX],
  [SNAT_HIGH_MIN, SNAT_HIGH_MAX],
];
/** How long a closed TCP flow keeps its SNAT port, in seconds. */
export const SNAT_TCP_REUSE_S = 65;
export const isSnatPort = (port: number) => SNAT_PORT_RANGES.some(([lo, hi]) => port >= lo && port <= hi);

/** enum sy_counter: counters map indices; CNT_MAX is the map's size. */
export const CNT_SNAT_EXHAUSTED = 0;
export const CNT_SOURCE_DENIED = 1;
export const CNT_FIB_PASSED = 2;
export const CNT_CT_COLLISION = 3;
export const CNT_FRAG_NEEDED = 4;
export const CNT_ICMP_XLATED = 5;
/** Entries the data path added to and removed from ct_new: evicted = added - removed - present. */
export const CNT_CT_NEW_ADDED = 6;
export const CNT_CT_NEW_REMOVED = 7;
export const CNT_MAX = 8;

/** enum sy_service_type: service_info.type. */
export const SVC_CLUSTER_IP = 0;
export const SVC_NODE_PORT = 1;
export const SVC_LOAD_BALANCER = 2;
/** service_info.type ↔ the Service type's name. */
export const SERVICE_TYPE_CODES: Record<string, number> = {
  ClusterIP: SVC_CLUSTER_IP,
  NodePort: SVC_NODE_PORT,
  LoadBalancer: SVC_LOAD_BALANCER,
};
export const SERVICE_TYPE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(SERVICE_TYPE_CODES).map(([n, c]) => [c, n]),
);

/** enum sy_capacity: max_entries of the data path's maps. The control plane reads a live map's
 *  size back from the kernel; these are for limits it must know before (svc ids index stats). */
export const MAX_FRONTENDS = 65536;
export const MAX_SLOTS = 262144;
export const MAX_BACKENDS = 262144;
export const MAX_SERVICES = 65536;
export const MAX_CONNTRACK = 262144;
export const MAX_AFFINITY = 65536;
export const MAX_SOURCE_RANGES = 16384;
export const MAX_FRAGS = 8192;
export const MAX_MAGLEV = 1048576;
export const MAX_CT_NEW = 65536;
/** ct_reply_src's slots: the reply-source filter (bpf/ct.h, sy_ct_may_reply). */
export const CT_REPLY_SRC_SLOTS = 4096;

/** The IPv6 hairpin SNAT source when config6.hairpinAddr is '::' (SY_HAIRPIN6_W* in switchyard.h,
 *  a ULA, not link-local: see there). Not an enum, so not BTF-checked: a kernel fixture asserts it. */
export const HAIRPIN6_ADDR = 'fd79:7961:7264::1';

/** Not from switchyard.h: the IP protocol numbers of sy_frontend_key.proto and sy_ct_key.proto. */
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;

/** Every constant above that mirrors switchyard.h, by its C name, grouped by C enum: the BTF
 *  test checks each value, and that each enum has no enumerator missing here. */
export const C_NAMES: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  sy_scope: { SY_SCOPE_INTERNAL: SCOPE_INTERNAL, SY_SCOPE_EXTERNAL: SCOPE_EXTERNAL },
  sy_frontend_flag: {
    SY_FE_NODEPORT: FE_NODEPORT,
    SY_FE_LOCAL_ONLY: FE_LOCAL_ONLY,
    SY_FE_SOURCE_RANGES: FE_SOURCE_RANGES,
    SY_FE_MAGLEV: FE_MAGLEV,
  },
  sy_backend_flag: { SY_BE_LOCAL: BE_LOCAL },
  sy_ct_flag: {
    SY_CT_SEEN_REPLY: CT_SEEN_REPLY,
    SY_CT_CLOSING: CT_CLOSING,
    SY_CT_HAIRPIN: CT_HAIRPIN,
    SY_CT_NODEPORT: CT_NODEPORT,
    SY_CT_FIN_FORWARD: CT_FIN_FORWARD,
    SY_CT_FIN_REPLY: CT_FIN_REPLY,
  },
  sy_ct_dir: { SY_CT_FORWARD: CT_FORWARD, SY_CT_REPLY: CT_REPLY },
  sy_snat: {
    SY_SNAT_LOW_MIN: SNAT_LOW_MIN,
    SY_SNAT_LOW_MAX: SNAT_LOW_MAX,
    SY_SNAT_HIGH_MIN: SNAT_HIGH_MIN,
    SY_SNAT_HIGH_MAX: SNAT_HIGH_MAX,
    SY_SNAT_TCP_REUSE_S: SNAT_TCP_REUSE_S,
  },
  sy_counter: {
    SY_CNT_SNAT_EXHAUSTED: CNT_SNAT_EXHAUSTED,
    SY_CNT_SOURCE_DENIED: CNT_SOURCE_DENIED,
    SY_CNT_FIB_PASSED: CNT_FIB_PASSED,
    SY_CNT_CT_COLLISION: CNT_CT_COLLISION,
    SY_CNT_FRAG_NEEDED: CNT_FRAG_NEEDED,
    SY_CNT_ICMP_XLATED: CNT_ICMP_XLATED,
    SY_CNT_CT_NEW_ADDED: CNT_CT_NEW_ADDED,
    SY_CNT_CT_NEW_REMOVED: CNT_CT_NEW_REMOVED,
    SY_CNT_MAX: CNT_MAX,
  },
  sy_service_type: {
    SY_SVC_CLUSTER_IP: SVC_CLUSTER_IP,
    SY_SVC_NODE_PORT: SVC_NODE_PORT,
    SY_SVC_LOAD_BALANCER: SVC_LOAD_BALANCER,
  },
  sy_capacity: {
    SY_MAX_FRONTENDS: MAX_FRONTENDS,
    SY_MAX_SLOTS: MAX_SLOTS,
    SY_MAX_BACKENDS: MAX_BACKENDS,
    SY_MAX_SERVICES: MAX_SERVICES,
    SY_MAX_CONNTRACK: MAX_CONNTRACK,
    SY_MAX_AFFINITY: MAX_AFFINITY,
    SY_MAX_SOURCE_RANGES: MAX_SOURCE_RANGES,
    SY_MAX_FRAGS: MAX_FRAGS,
    SY_MAX_MAGLEV: MAX_MAGLEV,
    SY_MAX_CT_NEW: MAX_CT_NEW,
    SY_CT_REPLY_SRC_SLOTS: CT_REPLY_SRC_SLOTS,
  },
};
