// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The Service data path: two tc ingress programs sharing one flow, sy_handle(), and one egress
 * program for replies the node stack itself sends to pods (to_pod, sy_handle_to_pod()).
 *
 *   from_pod     host side of every pod veth: packets leaving pods. Pods are clients (to a
 *                Service address: pick a backend, rewrite the destination) and backends
 *                (replying: rewrite the source back to the Service address). Frontends of
 *                SY_SCOPE_INTERNAL.
 *   from_netdev  the node's uplinks: packets from outside and from other nodes. Clients of
 *                NodePorts, external IPs and load-balancer IPs (frontends of SY_SCOPE_EXTERNAL;
 *                a backend on another node also gets the source rewritten to this node, see
 *                bpf/snat.h), and replies of flows this node translated whose backend is on
 *                another node (a pod here → ClusterIP → a pod there; NodePort SNAT).
 *   to_pod       host side of every pod veth, egress: replies of the node's own sockets to pods
 *                (a pod → ClusterIP → an endpoint at this node's address), IPv4 and IPv6.
 *
 * A translated packet normally goes on to the stack, which routes it. Directions whose new source
 * may be this node's own address are routed here instead (bpf/fib.h explains why).
 *
 * Verdicts:
 *   TC_ACT_OK       the packet goes on to routing: translated, or untouched when it is not
 *                   Service traffic — nothing we do not understand is ever dropped.
 *   TC_ACT_SHOT     a Service packet we must not let out untranslated: no local backend
 *                   under a Local traffic policy, a client outside loadBalancerSourceRanges,
 *                   no SNAT port, a control-plane race, a failed rewrite.
 *   TC_ACT_REDIRECT the packet became an ICMP port unreachable headed back where it came from,
 *                   or was routed in BPF (bpf/fib.h).
 *
 * Fragments of translated flows borrow their ports from the first fragment (bpf/frag.h); ICMP
 * errors about translated flows are translated back (bpf/icmp.h); a don't-fragment packet too big
 * for a BPF-routed path is answered with frag-needed (sy_translate).
 *
 * IPv6 takes its own flow, sy_handle6() (bpf/flow6.h, bpf/handle6.h).
 *
 * Known limits: a TCP flow whose conntrack entries were evicted is passed untouched
 * (see sy_new_flow); a later fragment that overtakes its first passes untranslated.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "switchyard.h"
#include "maps.h"
#include "parse.h"
#include "nat.h"
#include "ct.h"
#include "lb.h"
#include "reject.h"
#include "fib.h"
#include "snat.h"
#include "frag.h"
#include "icmp.h"
#include "handle6.h"

static __always_inline void sy_count(__u32 svc_id, const struct sy_pkt *pkt, bool new_flow)
{
	struct sy_stats *st = sy_stats_of(svc_id);

	if (!st)
		return;
	st->packets++;
	st->bytes += pkt->len;
	if (new_flow)
		st->new_flows++;
}

static __always_inline bool sy_backend_exists(__u32 backend_id)
{
	return bpf_map_lookup_elem(&backends, &backend_id) != NULL;
}

/*
 * Whether a live forward entry still decides where this packet goes. Packets that may
 * start a flow — a TCP SYN, any UDP datagram — re-select when the entry's backend has left
 * its service (kube-proxy flushes UDP conntrack for the same reason); a SYN on a closing
 * entry is a new connection reusing the ports. Other TCP packets stay with their backend
 * whatever the control plane did since: established flows survive Service edits.
 */
static __always_inline bool sy_ct_forward_usable(const struct sy_ct_entry *ct,
						 const struct sy_pkt *pkt)
{
	if (pkt->proto == IPPROTO_TCP) {
		if (!sy_tcp_is_syn(pkt))
			return true;
		if (ct->flags & SY_CT_CLOSING)
			return false;
	}
	return sy_backend_exists(ct->backend_id);
}

/*
 * A translated packet whose new source may be this node's own address, routed here (bpf/fib.h).
 * The route is looked up before the rewrite (translation keeps the length), so a don't-fragment
 * packet too big for the egress device is answered with frag-needed quoting the packet as its
 * sender sent it - from the address it sent it to - which its path-MTU discovery can match.
 */
static __always_inline int sy_translate_routed(struct __sk_buff *skb, const struct sy_pkt *pkt,
					       const struct sy_nat *nat, __u64 now)
{
	struct bpf_fib_lookup fib;
	long rc;

	rc = sy_fib_lookup(skb, &fib, nat->saddr, nat->daddr ? nat->daddr : pkt->daddr, pkt->proto);
	if (rc == BPF_FIB_LKUP_RET_FRAG_NEEDED && pkt->df) {
		sy_counter_inc(SY_CNT_FRAG_NEEDED);
		return sy_icmp_unreach(skb, pkt, ICMP_FRAG_NEEDED, fib.mtu_result);
	}
	if (sy_nat_apply(skb, pkt, nat))
		return TC_ACT_SHOT;
	if (pkt->frag == SY_FRAG_FIRST)
		sy_frag_record(pkt, now);
	return sy_fib_send(skb, &fib, rc);
}

/* Rewrites the packet by @nat and sends it on: to the stack, or routed here when the new source
 * may be this node's own address (a NodePort flow's SNAT or reply; see bpf/fib.h). A first
 * fragment leaves its ports for the rest of its datagram (bpf/frag.h). */
static __always_inline int sy_translate(struct __sk_buff *skb, const struct sy_pkt *pkt,
					const struct sy_nat *nat, __u8 ct_flags, __u64 now)
{
	if ((ct_flags & SY_CT_NODEPORT) && nat->saddr)
		return sy_translate_routed(skb, pkt, nat, now);
	if (sy_nat_apply(skb, pkt, nat))
		return TC_ACT_SHOT;
	if (pkt->frag == SY_FRAG_FIRST)
		sy_frag_record(pkt, now);
	return TC_ACT_OK;
}

/* Whether loadBalancerSourceRanges of @svc_id admit @client. */
static __always_inline bool sy_source_allowed(__u32 svc_id, __be32 client)
{
	struct sy_source_range_key key = { .prefixlen = 64, .svc_id = svc_id, .addr = client };

	return bpf_map_lookup_elem(&source_ranges, &key) != NULL;
}

/* A packet of a known flow, either direction: note its state, count it, rewrite it. */
static __always_inline int sy_ct_hit(struct __sk_buff *skb, const struct sy_pkt *pkt,
				     const struct sy_ct_key *key, struct sy_ct_entry *ct, __u64 now)
{
	struct sy_nat nat = ct->nat;
	__u8 flags = sy_ct_flags_seen(ct->flags, key->dir, pkt->tcp_flags);
	sy_ct_touch(ct, key, &nat, flags, now);

	if (key->dir == SY_CT_FORWARD)
		sy_count(ct->svc_id, pkt, false);
	return sy_translate(skb, pkt, &nat, ct->flags, now);
}

/* A packet with no usable conntrack entry, keyed @fwd_key: maybe the start of a flow. */
static __always_inline int sy_new_flow(struct __sk_buff *skb, const struct sy_pkt *pkt,
				       const struct sy_ct_key *fwd_key, __u8 scope, __u64 now)
{
	struct sy_frontend_key fe_key = {
		.addr = pkt->daddr,
		.port = pkt->dport,
		.proto = pkt->proto,
		.scope = scope,
	};
	struct sy_frontend *fep;
	struct sy_frontend fe;
	struct sy_backend be;
	struct sy_nat nat = {};
	__u32 backend_id;
	__u8 ct_flags = 0;
	int ret;

	/*
	 * Only a SYN opens a TCP flow. Anything else without an entry is not ours, or a flow we
	 * lost (LRU eviction, a recreated map): choosing a backend now would have it answer with a
	 * reset on a connection it never saw. Like Cilium we pass such packets on untouched, and
	 * before the frontend lookup: on an uplink that is most TCP (SSH, kubelet, pod traffic).
	 */
	if (pkt->proto == IPPROTO_TCP && !sy_tcp_is_syn(pkt))
		return TC_ACT_OK;
	/* A later fragment never starts a flow: its first fragment did, or nothing did. */
	if (pkt->frag == SY_FRAG_LATER)
		return TC_ACT_OK;

	fep = bpf_map_lookup_elem(&frontends, &fe_key);
	if (!fep)
		return TC_ACT_OK;	/* not a Service address and port (in this scope) */

	/* One copy: count and gen must come from the same frontend write. */
	fe = *fep;
	/* Before anything else, so a client outside the ranges learns nothing (not even
	 * "refused"). */
	if ((fe.flags & SY_FE_SOURCE_RANGES) && !sy_source_allowed(fe.svc_id, pkt->saddr)) {
		sy_counter_inc(SY_CNT_SOURCE_DENIED);
		return TC_ACT_SHOT;
	}
	if (fe.count == 0) {
		sy_count_no_backend(fe.svc_id);
		if (fe.flags & SY_FE_LOCAL_ONLY)
			return TC_ACT_SHOT;	/* Local policy: drop, like kube-proxy */
		return sy_reject(skb, pkt);
	}

	/* Passing the packet on untranslated would leak the Service address: drop instead.
	 * Affinity is keyed on the client as it sent the packet, before any SNAT. */
	if (sy_select_backend(&fe, pkt, now, &backend_id, &be)) {
		sy_count_no_backend(fe.svc_id);
		return TC_ACT_SHOT;
	}

	nat.daddr = be.addr;
	nat.dport = be.port;
	if (fe.flags & SY_FE_NODEPORT)
		ct_flags |= SY_CT_NODEPORT;

	if (scope == SY_SCOPE_EXTERNAL && (fe.flags & SY_FE_NODEPORT) &&
	    !(be.flags & SY_BE_LOCAL)) {
		/* From outside to a backend on another node: its reply must come back through
		 * here. */
		nat.saddr = sy_snat_addr(pkt->daddr);
		ret = sy_snat_create(fwd_key, &nat, backend_id, fe.svc_id, ct_flags, now);
		if (ret == SY_CT_TAKEN)
			sy_counter_inc(SY_CNT_SNAT_EXHAUSTED);
		if (ret)
			return TC_ACT_SHOT;
	} else {
		/* Hairpin: the client is its own backend. Without a new source it would answer
		 * itself. */
		if (be.addr == pkt->saddr) {
			nat.saddr = bpf_htonl(SY_HAIRPIN_ADDR);
			ct_flags |= SY_CT_HAIRPIN;
		}
		/* A flow we cannot track would have its replies arrive from the backend address;
		 * one whose reply key another live flow holds would take that flow's replies
		 * (sy_ct_claim). */
		ret = sy_ct_create(fwd_key, &nat, backend_id, fe.svc_id, ct_flags, now,
				   BPF_NOEXIST);
		if (ret == SY_CT_TAKEN)
			ret = sy_ct_claim(fwd_key, &nat, backend_id, fe.svc_id, ct_flags, now);
		if (ret == SY_CT_TAKEN)
			sy_counter_inc(SY_CNT_CT_COLLISION);
		if (ret)
			return TC_ACT_SHOT;
	}

	sy_count(fe.svc_id, pkt, true);
	return sy_translate(skb, pkt, &nat, ct_flags, now);
}

/*
 * A packet that matched no replied flow (conntrack) in either direction: a packet of a flow not
 * answered yet (ct_new, bpf/ct.h), its first reply, or maybe the start of a flow. Looked up only
 * after conntrack, so established flows pay nothing for the second table; forward first, because
 * an unanswered flow's forward packets (SYN retransmissions, a UDP stream) are the common case.
 * @key comes in as the reply direction's key. Without @to_service (a pod-to-pod packet) it can
 * only be a first reply; without @may_reply (sy_ct_may_reply) it cannot be one.
 */
static __always_inline int sy_handle_unreplied(struct __sk_buff *skb, const struct sy_pkt *pkt,
					       struct sy_ct_key *key, __u8 scope, bool to_service,
					       bool may_reply, __u64 now)
{
	struct sy_ct_entry *ct;

	if (to_service) {
		key->dir = SY_CT_FORWARD;
		ct = bpf_map_lookup_elem(&ct_new, key);
		if (ct) {
			if (sy_ct_live(ct, key, now) && sy_ct_forward_usable(ct, pkt))
				return sy_ct_hit(skb, pkt, key, ct, now);
			return sy_new_flow(skb, pkt, key, scope, now);
		}
	}

	/* The first answer: the flow moves to conntrack, and this packet is its first hit there.
	 * A failed promotion is another CPU's done first (a retransmitted answer): look again
	 * anyway. */
	key->dir = SY_CT_REPLY;
	ct = may_reply ? bpf_map_lookup_elem(&ct_new, key) : NULL;
	if (ct && sy_ct_live(ct, key, now)) {
		sy_ct_promote(key, now);
		ct = bpf_map_lookup_elem(&conntrack, key);
		if (ct)
			return sy_ct_hit(skb, pkt, key, ct, now);
	}

	if (!to_service)
		return TC_ACT_OK;
	key->dir = SY_CT_FORWARD;
	return sy_new_flow(skb, pkt, key, scope, now);
}

/*
 * Whether a packet a pod sends to @daddr can be a client's packet to a Service: not when @daddr
 * is in the pod range (struct sy_config), which holds no frontend. Most of a node's pod traffic
 * is pod-to-pod (and with pod socket LB, pod-to-Service is too: the socket already talks to the
 * backend), and each lookup skipped here is a miss in a large table, one cache miss, per packet.
 */
static __always_inline bool sy_pod_may_reach_service(__be32 daddr)
{
	const struct sy_config *cfg = sy_config_get();

	return !cfg || !cfg->pod_mask || (daddr & cfg->pod_mask) != cfg->pod_net;
}

/*
 * A pod's packet that is none of ours, known from its IPv4 header alone: to the pod range
 * (sy_pod_may_reach_service) and from an address no flow's reply named (sy_ct_may_reply). The
 * bulk of a node's traffic, pod to pod, leaves here before the full parse. An ICMP error among
 * them is not ours either: one about a flow translated here comes from its backend, a reply
 * source, or goes to the Service address, outside the pod range. A header not in the linear
 * data takes the full path.
 */
static __always_inline bool sy_pod_to_pod_not_ours(const struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct iphdr *ip = data + SY_IP_OFF;

	if ((void *)(ip + 1) > data_end || skb->protocol != bpf_htons(ETH_P_IP))
		return false;
	return !sy_pod_may_reach_service(ip->daddr) && !sy_ct_may_reply(ip->saddr);
}

/* The whole flow for a packet entering at @scope. */
static __always_inline int sy_handle(struct __sk_buff *skb, __u8 scope)
{
	struct sy_ct_entry *ct;
	struct sy_ct_key key;
	struct sy_pkt pkt;
	__u64 now;
	bool to_service, may_reply;
	int ret;

	if (scope == SY_SCOPE_INTERNAL && sy_pod_to_pod_not_ours(skb))
		return TC_ACT_OK;
	ret = sy_parse(skb, &pkt);
	if (ret == SY_PARSE_ICMP)
		return sy_icmp_error(skb, &pkt);
	if (ret != SY_PARSE_OK)
		return TC_ACT_OK;
	/* A later fragment, with the ports its first fragment left (none: not a translated
	 * flow). */
	if (pkt.frag == SY_FRAG_LATER && sy_frag_ports(&pkt, bpf_ktime_get_ns()))
		return TC_ACT_OK;

	/* The sender as a client of a flow we know (constant for from_netdev: a node address is
	 * a NodePort frontend, and the check would only grow its verification), or as a backend
	 * answering. A pod-to-pod packet from an address no flow's reply named is neither: it
	 * leaves here, before even the clock is read (a VM's clock read costs a lookup's time). */
	to_service = scope == SY_SCOPE_EXTERNAL || sy_pod_may_reach_service(pkt.daddr);
	may_reply = sy_ct_may_reply(pkt.saddr);
	if (!to_service && !may_reply)
		return TC_ACT_OK;
	now = bpf_ktime_get_ns();
	sy_ct_key_of(&key, &pkt, SY_CT_FORWARD);
	if (to_service) {
		ct = bpf_map_lookup_elem(&conntrack, &key);
		if (ct) {
			if (sy_ct_live(ct, &key, now) && sy_ct_forward_usable(ct, &pkt))
				return sy_ct_hit(skb, &pkt, &key, ct, now);
			return sy_new_flow(skb, &pkt, &key, scope, now);
		}
	}

	/* The sender as a backend (or a hairpinned client) answering. */
	key.dir = SY_CT_REPLY;
	ct = may_reply ? bpf_map_lookup_elem(&conntrack, &key) : NULL;
	if (ct && sy_ct_live(ct, &key, now))
		return sy_ct_hit(skb, &pkt, &key, ct, now);

	/*
	 * Of a TCP flow not answered yet, only a SYN (the client's, again) or the backend's SYN-ACK
	 * or RST can come: any other TCP packet is not ours (sy_new_flow would pass it too).
	 * Skipping ct_new for those keeps the bulk of other traffic as cheap as it was with one
	 * table.
	 */
	if (pkt.proto == IPPROTO_TCP && !(pkt.tcp_flags & (SY_TCP_SYN | SY_TCP_RST)))
		return TC_ACT_OK;
	return sy_handle_unreplied(skb, &pkt, &key, scope, to_service, may_reply, now);
}

/*
 * A packet the node stack sends to a pod: only a reply of a flow this node translated can need a
 * rewrite here. The one such flow is pod → Service → an endpoint at one of this node's own
 * addresses (a host-network pod, the API server on a control-plane node): from_pod translated
 * the forward packet, the node's socket answered, and the answer reaches the pod through the
 * stack and out this veth without passing any ingress hook of ours. It finds the flow's reply
 * entry like from_netdev finds a remote backend's reply. Never a frontend lookup, never a new
 * flow: whatever the stack sends a pod is either its own traffic or already translated (a local
 * backend pod's reply by from_pod, a remote one's by from_netdev), and a translated reply's
 * source is the Service address, which keys no reply entry.
 *
 * So only the node's own packets matter, and those are the ones that arrived on no device: a
 * forwarded packet (from another pod, from an uplink) carries the ifindex it came in on, a packet
 * a local socket (or the stack's own RST and ICMP senders) made has none. The bulk, pod-to-pod,
 * leaves in to_pod before it is even parsed, and an IPv6 packet goes to to_pod6, the same reply
 * steps on conntrack6 (sy_handle6_to_pod).
 */
static __always_inline int sy_handle_to_pod(struct __sk_buff *skb)
{
	struct sy_ct_entry *ct;
	struct sy_ct_key key;
	/* Zeroed: else clang spills a field no path has set yet ("R8 !read_ok" at load). */
	struct sy_pkt pkt = {};
	__u64 now;
	int ret;

	ret = sy_parse(skb, &pkt);
	if (ret == SY_PARSE_ICMP)
		return sy_icmp_error(skb, &pkt);	/* e.g. the node's port unreachable */
	if (ret != SY_PARSE_OK)
		return TC_ACT_OK;
	if (!sy_ct_may_reply(pkt.saddr))
		return TC_ACT_OK;	/* no flow's reply comes from this address (bpf/ct.h) */
	now = bpf_ktime_get_ns();
	if (pkt.frag == SY_FRAG_LATER && sy_frag_ports(&pkt, now))
		return TC_ACT_OK;

	sy_ct_key_of(&key, &pkt, SY_CT_REPLY);
	ct = bpf_map_lookup_elem(&conntrack, &key);
	if (ct && sy_ct_live(ct, &key, now))
		return sy_ct_hit(skb, &pkt, &key, ct, now);

	/* The flow's first answer (a SYN-ACK, an RST, a UDP reply) finds it in ct_new. */
	if (pkt.proto == IPPROTO_TCP && !(pkt.tcp_flags & (SY_TCP_SYN | SY_TCP_RST)))
		return TC_ACT_OK;
	ct = bpf_map_lookup_elem(&ct_new, &key);
	if (!ct || !sy_ct_live(ct, &key, now))
		return TC_ACT_OK;
	sy_ct_promote(&key, now);
	ct = bpf_map_lookup_elem(&conntrack, &key);
	if (!ct)
		return TC_ACT_OK;
	return sy_ct_hit(skb, &pkt, &key, ct, now);
}

/*
 * IPv6 runs in programs of its own, from_pod6, from_netdev6 and to_pod6, reached by a tail call
 * on the ethertype: the IPv4 flow needs over 400 of the 512 stack bytes, so the IPv6 flow cannot
 * be called from it, and in a program of its own the verifier checks it apart - the IPv4
 * programs are verified exactly as before. An IPv4 packet pays one compare; a failed tail call
 * (the slot empty: it cannot be, libbpf fills it at load) passes the packet on untouched.
 */
enum sy_prog6 {
	SY_PROG6_POD    = 0,
	SY_PROG6_NETDEV = 1,
};

SEC("tc")
int from_pod6(struct __sk_buff *skb)
{
	return sy_handle6(skb, SY_SCOPE_INTERNAL);
}

SEC("tc")
int from_netdev6(struct __sk_buff *skb)
{
	return sy_handle6(skb, SY_SCOPE_EXTERNAL);
}

SEC("tc")
int to_pod6(struct __sk_buff *skb)
{
	return sy_handle6_to_pod(skb);
}

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 2);
	__uint(key_size, sizeof(__u32));
	__array(values, int (struct __sk_buff *));
} progs6 SEC(".maps") = {
	.values = {
		[SY_PROG6_POD] = (void *)&from_pod6,
		[SY_PROG6_NETDEV] = (void *)&from_netdev6,
	},
};

/*
 * to_pod's IPv6 program, in a prog array of its own rather than a third slot of progs6: every map
 * is pinned, and libbpf refuses a pin of another size, so a grown progs6 would keep an agent
 * upgraded over its predecessor's pins from loading at all.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(__u32));
	__array(values, int (struct __sk_buff *));
} progs6_to_pod SEC(".maps") = {
	.values = {
		[0] = (void *)&to_pod6,
	},
};

static __always_inline bool sy_is_ipv6(const struct __sk_buff *skb)
{
	return skb->protocol == bpf_htons(ETH_P_IPV6);
}

/* Packets leaving a pod: the pod is a client, or a backend replying. */
SEC("tc")
int from_pod(struct __sk_buff *skb)
{
	if (sy_is_ipv6(skb)) {
		bpf_tail_call(skb, &progs6, SY_PROG6_POD);
		return TC_ACT_OK;
	}
	return sy_handle(skb, SY_SCOPE_INTERNAL);
}

/*
 * Packets arriving on an uplink: clients from outside (NodePort, external and LB IPs), and
 * replies of flows translated here whose backend is on another node. Anything else - traffic to
 * the node's own services (SSH, the agent's health ports), to its pods, from other nodes - finds
 * no conntrack entry and no frontend, and passes untouched.
 */
SEC("tc")
int from_netdev(struct __sk_buff *skb)
{
	if (sy_is_ipv6(skb)) {
		bpf_tail_call(skb, &progs6, SY_PROG6_NETDEV);
		return TC_ACT_OK;
	}
	return sy_handle(skb, SY_SCOPE_EXTERNAL);
}

/* Packets the node stack sends to a pod (tc egress, host side of every pod veth): replies from
 * this node's own addresses to a pod's Service flow (sy_handle_to_pod). Only the node's own
 * packets are read, in either family: a forwarded one, the bulk, leaves before the tail call. */
SEC("tc")
int to_pod(struct __sk_buff *skb)
{
	if (skb->ingress_ifindex)
		return TC_ACT_OK;	/* came in on a device (sy_handle_to_pod says why) */
	if (sy_is_ipv6(skb)) {
		bpf_tail_call(skb, &progs6_to_pod, 0);
		return TC_ACT_OK;
	}
	return sy_handle_to_pod(skb);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
