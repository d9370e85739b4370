/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Routing a translated packet in BPF: FIB lookup, TTL, MACs, redirect to the egress device.
 *
 * Why not TC_ACT_OK and let the stack route it, as ClusterIP traffic does? Because a packet whose
 * rewritten source is one of this node's own addresses - NodePort traffic SNATed for a backend on
 * another node, and every reply that takes a NodePort address back as its source - arrives at
 * routing on an input device with a local source address. The stack drops that as a martian
 * (fib_validate_source: -EINVAL) unless accept_local is set, and with rp_filter on it would still
 * fail the reverse-path check. Routing it here skips input routing altogether, needs no sysctl,
 * and is also the short path (no second trip through the IP layer).
 *
 * What BPF cannot route (no route, forwarding disabled, TTL running out, a packet over the
 * egress MTU that may be fragmented) is handed to the stack with TC_ACT_OK and counted, so the
 * kernel drops or answers it as it would anyway. A don't-fragment packet over the egress MTU is
 * answered here with ICMP frag-needed (switchyard.c, sy_translate): the stack would only drop it
 * as a martian, and the sender's path-MTU discovery would never learn the MTU.
 */
#ifndef SY_FIB_H
#define SY_FIB_H

#include <linux/if_ether.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>

#include "maps.h"
#include "parse.h"
#include "nat.h"

#ifndef AF_INET
#define AF_INET 2
#endif
#ifndef AF_INET6
#define AF_INET6 10
#endif

#define SY_IP_TTL_OFF  (SY_IP_OFF + offsetof(struct iphdr, ttl))
#define SY_IP6_HOPLIMIT_OFF  (SY_IP_OFF + offsetof(struct ipv6hdr, hop_limit))

/* TTL - 1 with the IP checksum adjusted; -1 when it would reach 0 (the stack answers that). */
static __always_inline int sy_dec_ttl(struct __sk_buff *skb)
{
	__be16 old_word, new_word;
	__u8 *b = (__u8 *)&new_word;

	if (bpf_skb_load_bytes(skb, SY_IP_TTL_OFF, &old_word, sizeof(old_word)))
		return -1;
	new_word = old_word;
	if (b[0] <= 1)	/* ttl is the first byte of the (ttl, protocol) word */
		return -1;
	b[0]--;
	if (bpf_l3_csum_replace(skb, SY_IP_CSUM_OFF, old_word, new_word, sizeof(new_word)))
		return -1;
	return bpf_skb_store_bytes(skb, SY_IP_TTL_OFF, &new_word, sizeof(new_word), 0);
}

/* The same for IPv6's hop limit, which no header checksum covers. */
static __always_inline int sy_dec_hoplimit6(struct __sk_buff *skb)
{
	__u8 hl;

	if (bpf_skb_load_bytes(skb, SY_IP6_HOPLIMIT_OFF, &hl, sizeof(hl)) || hl <= 1)
		return -1;
	hl--;
	return bpf_skb_store_bytes(skb, SY_IP6_HOPLIMIT_OFF, &hl, sizeof(hl), 0);
}

/*
 * Looks up the route from @saddr to @daddr for the skb as ip_forward would. Returns the
 * bpf_fib_lookup() code; on BPF_FIB_LKUP_RET_FRAG_NEEDED @fib->mtu_result is the egress MTU.
 * The skb's length does not change when it is translated, so the lookup may come first.
 */
static __always_inline long sy_fib_lookup(struct __sk_buff *skb, struct bpf_fib_lookup *fib,
					  __be32 saddr, __be32 daddr, __u8 proto)
{
	__builtin_memset(fib, 0, sizeof(*fib));
	fib->family = AF_INET;
	fib->l4_protocol = proto;
	fib->ipv4_src = saddr;
	fib->ipv4_dst = daddr;
	/* the input device: at tc ingress, the one the packet came in on */
	fib->ifindex = skb->ifindex;
	/* tot_len 0: the kernel checks the skb itself against the egress MTU, GSO included. */
	return bpf_fib_lookup(skb, fib, sizeof(*fib), 0);
}

/* The IPv6 lookup, as ip6_forward would: the same fields, 128-bit addresses. */
static __always_inline long sy_fib_lookup6(struct __sk_buff *skb, struct bpf_fib_lookup *fib,
					   const __be32 *saddr, const __be32 *daddr, __u8 proto)
{
	__builtin_memset(fib, 0, sizeof(*fib));
	fib->family = AF_INET6;
	fib->l4_protocol = proto;
	__builtin_memcpy(fib->ipv6_src, saddr, 16);
	__builtin_memcpy(fib->ipv6_dst, daddr, 16);
	fib->ifindex = skb->ifindex;
	return bpf_fib_lookup(skb, fib, sizeof(*fib), 0);
}

/*
 * Sends the (already rewritten) packet of @family where @fib, looked up with result @rc, says:
 * TTL (hop limit) - 1, next hop's MAC as destination, the egress device's as source. Returns a
 * tc verdict: the redirect, TC_ACT_OK (the stack's to route), or TC_ACT_SHOT.
 */
static __always_inline int sy_fib_send_family(struct __sk_buff *skb,
					      const struct bpf_fib_lookup *fib, long rc,
					      __u8 family)
{
	if (rc != BPF_FIB_LKUP_RET_SUCCESS && rc != BPF_FIB_LKUP_RET_NO_NEIGH) {
		sy_counter_inc(SY_CNT_FIB_PASSED);
		return TC_ACT_OK;
	}
	if (family == AF_INET6 ? sy_dec_hoplimit6(skb) : sy_dec_ttl(skb)) {
		sy_counter_inc(SY_CNT_FIB_PASSED);
		return TC_ACT_OK;
	}
	/* The next hop's MAC is not known yet: the kernel resolves it and sends the packet on. */
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH)
		return bpf_redirect_neigh(fib->ifindex, NULL, 0, 0);
	if (bpf_skb_store_bytes(skb, 0, fib->dmac, ETH_ALEN, 0) ||
	    bpf_skb_store_bytes(skb, ETH_ALEN, fib->smac, ETH_ALEN, 0))
		return TC_ACT_SHOT;
	return bpf_redirect(fib->ifindex, 0);
}

static __always_inline int sy_fib_send(struct __sk_buff *skb, const struct bpf_fib_lookup *fib,
				       long rc)
{
	return sy_fib_send_family(skb, fib, rc, AF_INET);
}

/* Looks up and sends the (already rewritten) packet from @saddr to @daddr: a tc verdict. */
static __always_inline int sy_fib_forward(struct __sk_buff *skb, __be32 saddr, __be32 daddr,
					  __u8 proto)
{
	struct bpf_fib_lookup fib;
	long rc = sy_fib_lookup(skb, &fib, saddr, daddr, proto);

	return sy_fib_send(skb, &fib, rc);
}

#endif /* SY_FIB_H */
