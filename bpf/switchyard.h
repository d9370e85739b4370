/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Switchyard map layouts: the single source of truth shared by the BPF programs
 * and the TypeScript control plane. src/abi/layouts.ts mirrors every struct here and
 * src/abi/constants.ts every enum; test/kernel/btf-layouts.test.ts checks both
 * mirrors against the objects' BTF. The constants the control plane shares are enums,
 * not #defines, for that reason: BTF carries enums (see sy_abi_enums at the end).
 *
 * Byte order: addresses and ports are kept in network byte order (__be32/__be16)
 * so the data path compares and copies them straight from packet headers.
 * Keys are fully packed (no implicit padding) because hash maps compare raw bytes.
 */
#ifndef SWITCHYARD_H
#define SWITCHYARD_H

#include <linux/types.h>

/* Capacities. The control plane reads them back from the maps, never from here. */
enum sy_capacity {
	SY_MAX_FRONTENDS     = 65536,
	SY_MAX_SLOTS         = 262144,
	SY_MAX_BACKENDS      = 262144,
	SY_MAX_SERVICES      = 65536,  /* svc_id < SY_MAX_SERVICES: it indexes the stats array */
	SY_MAX_CONNTRACK     = 262144,
	SY_MAX_AFFINITY      = 65536,
	SY_MAX_SOURCE_RANGES = 16384,
	SY_MAX_FRAGS         = 8192,   /* frags: ports of fragmented datagrams (bpf/frag.h) */
	/* maglev: lookup-table entries, both generations (not preallocated) */
	SY_MAX_MAGLEV        = 1048576,
	/* ct_new: flows not replied to yet (bpf/ct.h), 2 entries each */
	SY_MAX_CT_NEW        = 65536,
	/* ct_reply_src: slots of the reply-source filter (bpf/ct.h); a power of two */
	SY_CT_REPLY_SRC_SLOTS = 4096,
};

/* Frontend scopes: where the packet entered the node decides which view of a
 * service it sees (externalTrafficPolicy / internalTrafficPolicy). */
enum sy_scope {
	SY_SCOPE_INTERNAL = 0,   /* from a pod (from_pod); the node's own traffic is not seen */
	SY_SCOPE_EXTERNAL = 1,   /* from outside the cluster, via an uplink device */
};

/* sy_frontend.flags */
enum sy_frontend_flag {
	SY_FE_NODEPORT      = 1 << 0, /* NodePort / external frontend: remote backends need SNAT */
	SY_FE_LOCAL_ONLY    = 1 << 1, /* traffic policy Local: no backend means drop, not reject */
	SY_FE_SOURCE_RANGES = 1 << 2, /* loadBalancerSourceRanges apply: check sy_source_range */
	/* pick by flow hash from the set's maglev table of `count` entries */
	SY_FE_MAGLEV        = 1 << 3,
};

/* sy_backend.flags */
enum sy_backend_flag {
	SY_BE_LOCAL = 1 << 0,    /* the backend runs on this node */
};

/* sy_ct_entry.flags */
enum sy_ct_flag {
	SY_CT_SEEN_REPLY  = 1 << 0, /* a reply has passed: TCP handshake or UDP answer seen */
	SY_CT_CLOSING     = 1 << 1, /* RST, or FIN both ways: age out fast */
	SY_CT_HAIRPIN     = 1 << 2, /* client is its own backend: source was rewritten too */
	/* A flow of a SY_FE_NODEPORT frontend. Its directions that rewrite the source (SNAT, or a
	 * reply taking back the frontend address, which may be this node's own) are routed in BPF,
	 * bpf/fib.h. */
	SY_CT_NODEPORT    = 1 << 3,
	/* A FIN from the client (forward) or from the backend (reply). One FIN is a half-close: the
	 * other side may still send for a long time (shutdown(SHUT_WR) clients), so only both FINs,
	 * or an RST, make a flow CLOSING. */
	SY_CT_FIN_FORWARD = 1 << 4,
	SY_CT_FIN_REPLY   = 1 << 5,
};

/* sy_ct_key.dir */
enum sy_ct_dir {
	SY_CT_FORWARD = 0,   /* client → frontend, as the client sent it */
	SY_CT_REPLY   = 1,   /* backend → (client or SNAT address), as the backend sends it */
};

/* Conntrack lifetimes in seconds since an entry's last_seen_ns. Expiry is lazy: the data path
 * treats an expired entry as a miss and overwrites it; LRU eviction reclaims the rest. An entry
 * whose lifetime ran out still counts as live while the other direction's entry is live, so a
 * one-way stream keeps both. */
#define SY_CT_LIFETIME_TCP      21600  /* TCP after the first reply (established) */
#define SY_CT_LIFETIME_SYN      60     /* TCP before any reply: an unanswered SYN */
#define SY_CT_LIFETIME_CLOSING  10     /* TCP after RST, or FIN both ways */
#define SY_CT_LIFETIME_UDP      60     /* UDP, refreshed by traffic either way */

/*
 * SNAT source ports for NodePort / external traffic sent to a backend on another node: 1024-29999
 * and 61000-65535, i.e. every unprivileged port outside Linux's default ip_local_port_range
 * (32768-60999) and the NodePort range (30000-32767). The node's own connections take their ports
 * from the ephemeral range, invisible to the data path, so they never share a 4-tuple with an
 * SNAT flow; a node service listening on a port in these ranges is unaffected (its clients come
 * from their own ephemeral ports, never from a backend's service port). Ports are per (node
 * address, backend address and port, protocol): 33512 flows to each backend through each node.
 */
enum sy_snat {
	SY_SNAT_LOW_MIN     = 1024,
	SY_SNAT_LOW_MAX     = 29999,
	SY_SNAT_HIGH_MIN    = 61000,
	SY_SNAT_HIGH_MAX    = 65535,
	/* A closed TCP flow keeps its SNAT port this long after the backend's last packet: the
	 * backend may hold the connection in TIME_WAIT for 60 s (Linux), and a SYN from another
	 * client on the same 4-tuple carries another timestamp clock, which PAWS rejects there -
	 * a 1 s stall. */
	SY_SNAT_TCP_REUSE_S = 65,
};
/* random ports probed for a new flow before reclaiming or giving up */
#define SY_SNAT_TRIES      64

/* Hairpin SNAT address, 169.254.42.1 in host byte order (bpf_htonl() it). When a pod reaches a
 * Service and is picked as its own backend, the source is rewritten to this address so the
 * backend answers via its default route (the host), where the reply is translated back.
 * Link-local: never routed off the node, and no pod or node owns it. */
#define SY_HAIRPIN_ADDR         0xa9fe2a01

/* frontends (HASH): a service's address as clients see it. */
struct sy_frontend_key {
	__be32 addr;   /* ClusterIP, externalIP, load-balancer IP, or a node address (NodePort) */
	__be16 port;   /* service port or nodePort */
	__u8   proto;  /* IPPROTO_TCP or IPPROTO_UDP */
	__u8   scope;  /* SY_SCOPE_* */
};

struct sy_frontend {
	__u32 svc_id;           /* service port identity: stats index */
	__u32 set_id;           /* backend set to pick from (slots key) and affinity namespace */
	__u32 affinity_timeout; /* ClientIP affinity in seconds; 0 = off */
	/* backends in generation `gen`; 0 = reject (or drop if LOCAL_ONLY) */
	__u16 count;
	__u8  gen;              /* active slot generation of the set: 0 or 1 */
	__u8  flags;            /* SY_FE_* */
};

/* slots (HASH): position → backend, per backend set and generation. slot is 1-based. */
struct sy_slot_key {
	__u32 set_id;
	__u16 slot;
	__u8  gen;
	__u8  pad;    /* always 0 */
};

/* backends (HASH): backend_id → where to send. IDs are per (service port, endpoint):
 * a backend leaves this map when it leaves its service, which is how stale
 * affinity and UDP conntrack entries notice. */
struct sy_backend {
	__be32 addr;
	__be16 port;
	__u8   flags;   /* SY_BE_* */
	__u8   pad;
};

/* conntrack (LRU_HASH): one entry per direction of a translated flow that has seen a reply;
 * ct_new (LRU_HASH), the same layout, for flows that have not (bpf/ct.h explains the split). */
struct sy_ct_key {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8   proto;
	__u8   dir;     /* SY_CT_* direction */
	__u16  pad;     /* always 0 */
};

/* What to write into a matching packet: each non-zero field replaces the packet's. */
struct sy_nat {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
};

struct sy_ct_entry {
	__u64 last_seen_ns;   /* bpf_ktime_get_ns() of the last packet, either direction */
	struct sy_nat nat;    /* the rewrite for packets matching this key */
	__u32 backend_id;     /* chosen backend; UDP entries die with it */
	__u32 svc_id;         /* for stats */
	__u8  flags;          /* SY_CT_* flags */
	__u8  pad[7];
};

/* affinity (LRU_HASH): ClientIP session affinity, per backend set. */
struct sy_affinity_key {
	__u32  set_id;
	__be32 client_addr;   /* the original client, before any SNAT */
};

struct sy_affinity {
	__u64 last_used_ns;   /* expires at last_used_ns + timeout; refreshed on use */
	__u32 backend_id;
	__u32 pad;
};

/* stats (PERCPU_ARRAY): svc_id → counters, summed over CPUs by the reader. */
struct sy_stats {
	__u64 packets;
	__u64 bytes;
	__u64 new_flows;
	__u64 no_backend;     /* rejected or dropped for want of a backend */
};

/* config (ARRAY, one entry at index 0): node settings written by the agent. */
struct sy_config {
	__be32 snat_addr;   /* source for NodePort / external flows to remote backends; 0: use the
			     * frontend address (right for a NodePort, which is a node address) */
	/* The cluster's IPv4 pod range (--cluster-cidr), as network and mask; mask 0: not given.
	 * A pod's packet to an address in it is pod-to-pod: no frontend is ever a pod address
	 * (compile/external-ips.ts refuses externalIPs there), so from_pod looks it up only as a
	 * reply (sy_handle). */
	__be32 pod_net;
	__be32 pod_mask;
};

/* source_ranges (LPM_TRIE): loadBalancerSourceRanges of frontends flagged SY_FE_SOURCE_RANGES. The
 * data is {svc_id, addr}: an entry for 10.0.0.0/8 of svc 7 has prefixlen 32 + 8, and the data path
 * looks up {64, svc_id, client}. svc_id is matched whole, so its byte order does not matter. */
struct sy_source_range_key {
	__u32  prefixlen;
	__u32  svc_id;
	__be32 addr;
};

/* counters (PERCPU_ARRAY): data-path events not tied to one service, by SY_CNT_*. */
enum sy_counter {
	SY_CNT_SNAT_EXHAUSTED = 0,  /* no free SNAT port for a new flow: dropped */
	SY_CNT_SOURCE_DENIED  = 1,  /* client outside loadBalancerSourceRanges: dropped */
	SY_CNT_FIB_PASSED     = 2,  /* could not route in BPF: handed to the stack instead */
	SY_CNT_CT_COLLISION   = 3,  /* a new flow's reply key held by another live flow: dropped */
	/* a DF packet over a BPF-routed path's MTU: answered frag-needed */
	SY_CNT_FRAG_NEEDED    = 4,
	SY_CNT_ICMP_XLATED    = 5,  /* an ICMP error about a translated flow, translated back */
	/* Entries the data path added to, and removed from, ct_new (promotion on the first
	 * reply, takeover): the reader's evicted = added - removed - present, the flood ct_new
	 * absorbed. */
	SY_CNT_CT_NEW_ADDED   = 6,
	SY_CNT_CT_NEW_REMOVED = 7,
	SY_CNT_MAX            = 8,  /* the counters map's size */
};

/* service_info (HASH): svc_id → who it is. Written by the agent for `switchyard inspect`, which
 * reads the pins with the agent stopped; the data path never reads it. */
#define SY_SERVICE_NAME_LEN  96

enum sy_service_type {
	SY_SVC_CLUSTER_IP    = 0,
	SY_SVC_NODE_PORT     = 1,
	SY_SVC_LOAD_BALANCER = 2,
};

struct sy_service_info {
	char  name[SY_SERVICE_NAME_LEN]; /* "namespace/name:port/PROTO", NUL-padded */
	__u8  type;                      /* SY_SVC_* */
	__u8  pad[3];
};

/* frags (LRU_HASH): the ports of fragmented datagrams of translated flows, recorded from the first
 * fragment, so the later ones (which carry no L4 header) find their conntrack entry. bpf/frag.h. */
/* Linux's ipfrag_time: a datagram not whole by then is dropped */
#define SY_FRAG_LIFETIME_S    30

struct sy_frag_key {
	__be32 saddr;   /* as the fragment arrived, before any translation */
	__be32 daddr;
	__be16 id;      /* iphdr.id */
	__u8   proto;
	__u8   pad;     /* always 0 */
};

struct sy_frag {
	__u64  first_seen_ns;  /* the first fragment's bpf_ktime_get_ns() */
	__be16 sport;          /* the datagram's ports, before translation */
	__be16 dport;
	__u32  pad;
};

/*
 * IPv6: per-family maps (bpf/maps.h) for everything keyed or valued by an address, so the IPv4
 * maps, their key sizes and the IPv4 per-packet path stay exactly as they were. Maps whose keys
 * and values hold no address (slots, maglev, stats, service_info, counters) serve both families,
 * and backend ids come from ONE id space: an id is in backends or in backends6, never both, so a
 * slot or a maglev entry needs no family. Values that hold no address are the IPv4 structs
 * (sy_frontend, sy_affinity, sy_frag). Each v6 struct is the v4 one with 128-bit addresses.
 *
 * Addresses are four __be32 words in network order (struct in6_addr's bytes): word compares and
 * copies, and 4-byte alignment like the v4 structs.
 */
#define SY_IN6_WORDS 4

/* Hairpin SNAT source for IPv6, fd79:7961:7264::1 (a ULA, RFC 4193), used when
 * config6.hairpin_addr is all zero. Not link-local: a pod treats fe80::/64 as on-link and would
 * ask for the address by neighbour discovery on its interface, which nobody answers; a ULA that
 * no pod or node owns goes via the pod's default route to the host, where from_pod translates the
 * reply back, exactly like 169.254.42.1 for IPv4. The /48 was picked by hand ("yyard"); a cluster
 * that uses it sets another in config6. */
#define SY_HAIRPIN6_W0 0xfd797961
#define SY_HAIRPIN6_W1 0x72640000
#define SY_HAIRPIN6_W2 0x00000000
#define SY_HAIRPIN6_W3 0x00000001

/* frontends6 (HASH): as sy_frontend_key; the value is struct sy_frontend. */
struct sy_frontend6_key {
	__be32 addr[SY_IN6_WORDS];
	__be16 port;
	__u8   proto;
	__u8   scope;   /* SY_SCOPE_* */
};

/* backends6 (HASH): backend_id (the same id space as backends) → where to send. */
struct sy_backend6 {
	__be32 addr[SY_IN6_WORDS];
	__be16 port;
	__u8   flags;   /* SY_BE_* */
	__u8   pad;
};

/* conntrack6, ct_new6 (LRU_HASH): as sy_ct_key / sy_ct_entry. */
struct sy_ct6_key {
	__be32 saddr[SY_IN6_WORDS];
	__be32 daddr[SY_IN6_WORDS];
	__be16 sport;
	__be16 dport;
	__u8   proto;
	__u8   dir;     /* SY_CT_* direction */
	__u16  pad;     /* always 0 */
};

/* Each field that is not zero (::, port 0) replaces the packet's. */
struct sy_nat6 {
	__be32 saddr[SY_IN6_WORDS];
	__be32 daddr[SY_IN6_WORDS];
	__be16 sport;
	__be16 dport;
};

struct sy_ct6_entry {
	__u64 last_seen_ns;
	struct sy_nat6 nat;
	__u32 backend_id;
	__u32 svc_id;
	__u8  flags;          /* SY_CT_* flags */
	__u8  pad[3];
};

/* affinity6 (LRU_HASH): {set_id, client} → struct sy_affinity. */
struct sy_affinity6_key {
	__u32  set_id;
	__be32 client_addr[SY_IN6_WORDS];
};

/* config6 (ARRAY, index 0): the node's IPv6 settings. */
struct sy_config6 {
	/* source for NodePort / external flows to remote backends; :: = the frontend address */
	__be32 snat_addr[SY_IN6_WORDS];
	/* hairpin SNAT source; :: = SY_HAIRPIN6_W* */
	__be32 hairpin_addr[SY_IN6_WORDS];
	/* The cluster's IPv6 pod range (--cluster-cidr), as sy_config's: from_pod looks a pod's
	 * packet to it up only as a reply (sy_handle6). Network and mask, not a prefix length: the
	 * test is then four AND/XOR words ORed, with no branch and no per-packet mask built by
	 * variable shifts. Not given: pod_mask[0] is 0, one compare (a prefix of 1 or more sets its
	 * top bit; the agent never writes ::/0, which would make every address a pod's). */
	__be32 pod_net[SY_IN6_WORDS];
	__be32 pod_mask[SY_IN6_WORDS];
};

/* source_ranges6 (LPM_TRIE): as sy_source_range_key; prefixlen is 32 + the CIDR's length, and the
 * data path looks up {160, svc_id, client}. */
struct sy_source_range6_key {
	__u32  prefixlen;
	__u32  svc_id;
	__be32 addr[SY_IN6_WORDS];
};

/* frags6 (LRU_HASH): as sy_frag_key, by the fragment header's 32-bit identification; the value
 * is struct sy_frag. */
struct sy_frag6_key {
	__be32 saddr[SY_IN6_WORDS];
	__be32 daddr[SY_IN6_WORDS];
	__be32 id;      /* frag_hdr.identification */
	__u8   proto;   /* the upper-layer protocol after the extension headers */
	__u8   pad[3];  /* always 0 */
};

/*
 * BTF carries an enum only when some type uses it. This variable uses every enum above, so each
 * object that includes this header has them all in its BTF, where the control plane's mirror is
 * checked. It lives in a section of its own that libbpf skips ("unrecognized data section"): no
 * map, no load-time cost, and the programs never reference it.
 */
struct sy_abi_enums {
	enum sy_capacity      capacity;
	enum sy_scope         scope;
	enum sy_frontend_flag frontend_flag;
	enum sy_backend_flag  backend_flag;
	enum sy_ct_flag       ct_flag;
	enum sy_ct_dir        ct_dir;
	enum sy_snat          snat;
	enum sy_counter       counter;
	enum sy_service_type  service_type;
};
static struct sy_abi_enums sy_abi_enums __attribute__((used, section(".sy_abi")));

#endif /* SWITCHYARD_H */
