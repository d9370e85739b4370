/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The IPv6 flow's backend selection for a packet, new flows and entry point, sy_handle6()
 * (bpf/flow6.h says what it covers; its conntrack is bpf/ct6.h, its ICMPv6 errors bpf/icmp6.h,
 * the choice of backend itself bpf/lb6.h, shared with the socket path).
 */
#ifndef SY_HANDLE6_H
#define SY_HANDLE6_H

#include "flow6.h"
#include "lb6.h"
#include "ct6.h"
#include "icmp6.h"
#include "reject.h"
#include "snat.h"
#include "fib.h"
#include "frag.h"

/* The SNAT port loop of sy_snat_create for IPv6: random ports of the SNAT ranges until a reply
 * key is free. A dead flow's port is taken over by sy_ct6_create itself (no second pass). */
static __always_inline int sy_snat6_create(const struct sy_ct6_key *fwd_key,
					   struct sy_ct6_entry *fwd)
{
	int ret = SY_CT_TAKEN, i;

	for (i = 0; i < SY_SNAT_TRIES && ret == SY_CT_TAKEN; i++) {
		fwd->nat.sport = sy_snat_random_port();
		ret = sy_ct6_create(fwd_key, fwd);
	}
	return ret;
}

static __always_inline void sy_count6(__u32 svc_id, const struct __sk_buff *skb, bool new_flow)
{
	struct sy_stats *st = sy_stats_of(svc_id);

	if (!st)
		return;
	st->packets++;
	st->bytes += skb->len;
	if (new_flow)
		st->new_flows++;
}

/*
 * Rewrites the packet by @nat and sends it on, as sy_translate: a NodePort flow's direction that
 * rewrites the source (SNAT, or the reply taking the node's address back) is routed here
 * (bpf/fib.h says why). A packet over the egress MTU is handed to the stack (counted
 * SY_CNT_FIB_PASSED); IPv6 has no don't-fragment bit to answer for. Global: the route lookup's
 * frame stays off the stack of the flow that calls it.
 */
__attribute__((noinline)) int sy_translate6(struct __sk_buff *skb, const struct sy_pkt6 *pkt,
					    const struct sy_nat6 *nat, __u32 ct_flags)
{
	struct bpf_fib_lookup fib;
	long rc;

	if (!skb || !pkt || !nat)
		return TC_ACT_SHOT;
	if (pkt->frag == SY_FRAG_FIRST)
		sy_frag6_record(pkt, bpf_ktime_get_ns());	/* its ports as it came */
	if (!(ct_flags & SY_CT_NODEPORT) || sy_in6_is_zero(nat->saddr))
		return sy_nat_apply6(skb, pkt, nat) ? TC_ACT_SHOT : TC_ACT_OK;
	rc = sy_fib_lookup6(skb, &fib, nat->saddr,
			    sy_in6_is_zero(nat->daddr) ? pkt->daddr : nat->daddr, pkt->proto);
	if (sy_nat_apply6(skb, pkt, nat))
		return TC_ACT_SHOT;
	return sy_fib_send_family(skb, &fib, rc, AF_INET6);
}

/* A packet of a known flow, either direction: as sy_ct_hit. */
static __always_inline int sy_ct6_hit(struct __sk_buff *skb, const struct sy_pkt6 *pkt,
				      const struct sy_ct6_key *key, struct sy_ct6_entry *ct,
				      __u64 now)
{
	__u8 flags = sy_ct_flags_seen(ct->flags, key->dir, pkt->tcp_flags);

	sy_ct6_touch(ct, key, flags, now);
	if (key->dir == SY_CT_FORWARD)
		sy_count6(ct->svc_id, skb, false);
	/* The rewrite straight from the entry: a copy would cost sy_handle6 36 of the 512 stack
	 * bytes it shares with sy_new_flow6. An entry is written whole only by a new flow taking
	 * its key, which a packet of this flow would then follow anyway. */
	return sy_translate6(skb, pkt, &ct->nat, ct->flags);
}

/* As sy_ct_forward_usable: only a packet that may start a flow re-selects a gone backend. */
static __always_inline bool sy_ct6_forward_usable(const struct sy_ct6_entry *ct,
						  const struct sy_pkt6 *pkt)
{
	__u32 id = ct->backend_id;

	if (pkt->proto == IPPROTO_TCP) {
		if (!sy_tcp6_is_syn(pkt))
			return true;
		if (ct->flags & SY_CT_CLOSING)
			return false;
	}
	return bpf_map_lookup_elem(&backends6, &id) != NULL;
}

/* As sy_select_backend, through sy_select_backend6_for (lb6.h): affinity by the packet's source,
 * Maglev by its flow hash. Global: verified once, apart from the flows that call it. */
__attribute__((noinline)) int sy_select_backend6(const struct sy_frontend *fe,
						 const struct sy_pkt6 *pkt, __u64 now,
						 __u32 *backend_id, struct sy_backend6 *be)
{
	if (!fe || !pkt || !backend_id || !be)
		return -1;
	return sy_select_backend6_for(fe, pkt->saddr,
				      sy_flow_hash(sy_in6_fold(pkt->saddr), pkt->sport, pkt->dport,
						   pkt->proto),
				      now, backend_id, be);
}

/* Whether loadBalancerSourceRanges of @svc_id admit @client. */
static __always_inline bool sy_source_allowed6(__u32 svc_id, const __be32 *client)
{
	struct sy_source_range6_key key = { .prefixlen = 32 + 128, .svc_id = svc_id };

	sy_in6_copy(key.addr, client);
	return bpf_map_lookup_elem(&source_ranges6, &key) != NULL;
}

/* The hairpin source: config6's, else the built-in ULA (switchyard.h). */
static __always_inline void sy_hairpin6_addr(__be32 *to)
{
	const struct sy_config6 *cfg = sy_config6_get();

	if (cfg && !sy_in6_is_zero(cfg->hairpin_addr)) {
		sy_in6_copy(to, cfg->hairpin_addr);
		return;
	}
	to[0] = bpf_htonl(SY_HAIRPIN6_W0);
	to[1] = bpf_htonl(SY_HAIRPIN6_W1);
	to[2] = bpf_htonl(SY_HAIRPIN6_W2);
	to[3] = bpf_htonl(SY_HAIRPIN6_W3);
}

/* sy_new_flow6(): no endpoints, answer with ICMPv6 (sy_handle6 does, to keep the stacks apart) */
#define SY_V6_REJECT  (-1)

/*
 * A packet with no usable conntrack entry: maybe the start of a flow (as sy_new_flow). A tc
 * verdict, or SY_V6_REJECT. Global, so its frame and sy_reject6's are never on the stack at once.
 */
__attribute__((noinline)) int sy_new_flow6(struct __sk_buff *skb, const struct sy_pkt6 *pkt,
					   const struct sy_ct6_key *fwd_key, __u32 scope, __u64 now)
{
	struct sy_ct6_entry ct = { .last_seen_ns = now };
	struct sy_frontend6_key fe_key = {};
	struct sy_nat6 *nat = &ct.nat;
	struct sy_frontend *fep;
	struct sy_frontend fe;
	struct sy_backend6 be;
	struct sy_stats *st;
	__u32 backend_id;
	__u8 ct_flags = 0;
	int ret;

	if (!skb || !pkt || !fwd_key)
		return TC_ACT_OK;
	if (pkt->frag == SY_FRAG_LATER)
		return TC_ACT_OK;	/* its first fragment started the flow, or nothing did */
	if (pkt->proto == IPPROTO_TCP && !sy_tcp6_is_syn(pkt))
		return TC_ACT_OK;	/* only a SYN opens a TCP flow (see sy_new_flow) */
	sy_in6_copy(fe_key.addr, pkt->daddr);
	fe_key.port = pkt->dport;
	fe_key.proto = pkt->proto;
	fe_key.scope = scope;
	fep = bpf_map_lookup_elem(&frontends6, &fe_key);
	if (!fep)
		return TC_ACT_OK;
	fe = *fep;
	if ((fe.flags & SY_FE_SOURCE_RANGES) && !sy_source_allowed6(fe.svc_id, pkt->saddr)) {
		sy_counter_inc(SY_CNT_SOURCE_DENIED);
		return TC_ACT_SHOT;
	}
	if (fe.count == 0 || sy_select_backend6(&fe, pkt, now, &backend_id, &be)) {
		st = sy_stats_of(fe.svc_id);
		if (st)
			st->no_backend++;
		if (fe.count || (fe.flags & SY_FE_LOCAL_ONLY))
			return TC_ACT_SHOT;
		return SY_V6_REJECT;
	}
	if (fe.flags & SY_FE_NODEPORT)
		ct_flags |= SY_CT_NODEPORT;
	sy_in6_copy(nat->daddr, be.addr);
	nat->dport = be.port;
	ct.backend_id = backend_id;
	ct.svc_id = fe.svc_id;
	if (scope == SY_SCOPE_EXTERNAL && (fe.flags & SY_FE_NODEPORT) &&
	    !(be.flags & SY_BE_LOCAL)) {
		/* From outside to a backend on another node: its reply must come back here. */
		sy_snat6_addr(nat->saddr, pkt->daddr);
		ct.flags = ct_flags;
		ret = sy_snat6_create(fwd_key, &ct);
		if (ret == SY_CT_TAKEN)
			sy_counter_inc(SY_CNT_SNAT_EXHAUSTED);
	} else {
		/* Hairpin: the client is its own backend, and would answer itself. */
		if (sy_in6_eq(be.addr, pkt->saddr)) {
			sy_hairpin6_addr(nat->saddr);
			ct_flags |= SY_CT_HAIRPIN;
		}
		ct.flags = ct_flags;
		ret = sy_ct6_create(fwd_key, &ct);
		if (ret == SY_CT_TAKEN)
			sy_counter_inc(SY_CNT_CT_COLLISION);
	}
	if (ret)
		return TC_ACT_SHOT;
	sy_count6(fe.svc_id, skb, true);
	return sy_translate6(skb, pkt, nat, ct.flags);
}

/* As sy_pod_may_reach_service: not when @daddr is in the IPv6 pod range (struct sy_config6),
 * which holds no frontend (compile/external-ips.ts refuses pod addresses for both families). */
static __always_inline bool sy_pod_may_reach_service6(const __be32 *daddr)
{
	const struct sy_config6 *cfg = sy_config6_get();

	if (!cfg || !cfg->pod_mask[0])
		return true;
	return ((daddr[0] & cfg->pod_mask[0]) ^ cfg->pod_net[0]) |
	       ((daddr[1] & cfg->pod_mask[1]) ^ cfg->pod_net[1]) |
	       ((daddr[2] & cfg->pod_mask[2]) ^ cfg->pod_net[2]) |
	       ((daddr[3] & cfg->pod_mask[3]) ^ cfg->pod_net[3]);
}

/* As sy_pod_to_pod_not_ours, from the fixed IPv6 header alone: before the walk over extension
 * headers, which an ICMPv6 error or a fragment among them does not need either (the IPv4 note
 * says why). A header not in the linear data takes the full path. */
static __always_inline bool sy_pod6_to_pod_not_ours(const struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ipv6hdr *ip = data + SY_IP_OFF;

	if ((void *)(ip + 1) > data_end || skb->protocol != bpf_htons(ETH_P_IPV6))
		return false;
	return !sy_pod_may_reach_service6(ip->daddr.in6_u.u6_addr32) &&
	       !sy_ct_may_reply6(ip->saddr.in6_u.u6_addr32);
}

/*
 * The whole IPv6 flow for a packet entering at @scope, in the order of sy_handle: conntrack6
 * forward, then reply; a TCP packet that is neither SYN nor RST stops there; then ct_new6
 * forward, then reply (the first answer, which promotes the flow); then maybe a new flow. A
 * pod's packet to the pod range takes only the reply steps (sy_pod_may_reach_service6).
 * Global: verified once, apart from the IPv4 flow of both programs.
 */
static __always_inline int sy_start_flow6(struct __sk_buff *skb, const struct sy_pkt6 *pkt,
					  const struct sy_ct6_key *fwd_key, __u8 scope, __u64 now)
{
	int ret = sy_new_flow6(skb, pkt, fwd_key, scope, now);

	return ret == SY_V6_REJECT ? sy_reject6(skb, pkt) : ret;
}

__attribute__((noinline)) int sy_handle6(struct __sk_buff *skb, __u8 scope)
{
	struct sy_ct6_entry *ct;
	struct sy_ct6_key key;
	struct sy_pkt6 pkt;
	bool to_service, may_reply;
	__u64 now;
	int ret;

	if (!skb)
		return TC_ACT_OK;
	if (scope == SY_SCOPE_INTERNAL && sy_pod6_to_pod_not_ours(skb))
		return TC_ACT_OK;
	ret = sy_parse6(skb, &pkt);
	if (ret == SY_PARSE_ICMP)
		return sy_icmp6_error(skb, &pkt);
	if (ret)
		return TC_ACT_OK;
	/* A later fragment, with the ports its first fragment left (none: not translated here). */
	if (pkt.frag == SY_FRAG_LATER && sy_frag6_ports(&pkt, bpf_ktime_get_ns()))
		return TC_ACT_OK;
	/* Whether it can be a client's packet to a Service (not to the pod range, as sy_handle)
	 * and whether a reply at all (the reply-source filter, bpf/ct.h); the clock is read only
	 * once an entry is found, or a flow may start (it costs a lookup's time on a VM). */
	to_service = scope == SY_SCOPE_EXTERNAL || sy_pod_may_reach_service6(pkt.daddr);
	may_reply = sy_ct_may_reply6(pkt.saddr);
	if (!to_service && !may_reply)
		return TC_ACT_OK;
	sy_ct6_key_of(&key, &pkt, SY_CT_FORWARD);
	ct = to_service ? bpf_map_lookup_elem(&conntrack6, &key) : NULL;
	if (ct) {
		now = bpf_ktime_get_ns();
		if (sy_ct6_fresh(ct, pkt.proto, now) && sy_ct6_forward_usable(ct, &pkt))
			return sy_ct6_hit(skb, &pkt, &key, ct, now);
		return sy_start_flow6(skb, &pkt, &key, scope, now);
	}
	ct = may_reply ? sy_ct6_replied(&key, pkt.proto, &now) : NULL;
	if (ct)
		return sy_ct6_hit(skb, &pkt, &key, ct, now);
	if (!sy_ct6_may_be_unreplied(&pkt))
		return TC_ACT_OK;

	now = bpf_ktime_get_ns();
	key.dir = SY_CT_FORWARD;
	ct = to_service ? bpf_map_lookup_elem(&ct_new6, &key) : NULL;
	if (ct && sy_ct6_fresh(ct, pkt.proto, now) && sy_ct6_forward_usable(ct, &pkt))
		return sy_ct6_hit(skb, &pkt, &key, ct, now);
	if (!ct && may_reply) {
		ct = sy_ct6_first_answer(&key, pkt.proto, now);
		if (ct)
			return sy_ct6_hit(skb, &pkt, &key, ct, now);
		key.dir = SY_CT_FORWARD;
	}
	if (!to_service)
		return TC_ACT_OK;	/* a pod-to-pod packet is only ever a reply */
	return sy_start_flow6(skb, &pkt, &key, scope, now);
}

/*
 * to_pod for IPv6, the program to_pod6 (sy_handle_to_pod says why to_pod exists): a packet a
 * socket of this node sends a pod - to_pod lets through only those, by their ingress ifindex of 0
 * - needs a rewrite only as the answer of a flow from_pod6 translated to one of this node's own
 * addresses. The reply steps of sy_handle6 alone: never a frontend lookup, never a new flow.
 */
static __always_inline int sy_handle6_to_pod(struct __sk_buff *skb)
{
	struct sy_ct6_entry *ct;
	struct sy_ct6_key key;
	struct sy_pkt6 pkt;
	__u64 now;
	int ret;

	ret = sy_parse6(skb, &pkt);
	if (ret == SY_PARSE_ICMP)
		return sy_icmp6_error(skb, &pkt);	/* e.g. the node's port unreachable */
	if (ret)
		return TC_ACT_OK;
	if (!sy_ct_may_reply6(pkt.saddr))
		return TC_ACT_OK;	/* no flow's reply comes from this address (bpf/ct.h) */
	if (pkt.frag == SY_FRAG_LATER && sy_frag6_ports(&pkt, bpf_ktime_get_ns()))
		return TC_ACT_OK;

	sy_ct6_key_of(&key, &pkt, SY_CT_REPLY);
	ct = sy_ct6_replied(&key, pkt.proto, &now);
	if (ct)
		return sy_ct6_hit(skb, &pkt, &key, ct, now);
	if (!sy_ct6_may_be_unreplied(&pkt))
		return TC_ACT_OK;
	now = bpf_ktime_get_ns();
	ct = sy_ct6_first_answer(&key, pkt.proto, now);
	if (!ct)
		return TC_ACT_OK;
	return sy_ct6_hit(skb, &pkt, &key, ct, now);
}

#endif /* SY_HANDLE6_H */
