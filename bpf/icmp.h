/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ICMP errors about translated flows, translated back. A backend whose UDP port is closed answers
 * "port unreachable" quoting the packet it got: {client → backend}, not what the client sent,
 * {client → Service}; a router on a lower-MTU path answers "fragmentation needed" the same way.
 * The client's stack matches an error to a socket by the quote, so untranslated it is ignored:
 * no ECONNREFUSED, no path-MTU discovery. Like netfilter's "related" handling we find the flow by
 * the quoted tuple and give the quote (and the outer addresses) the translation the client knows.
 *
 *   | eth | ip (outer) | icmp (8) | ip (inner, 20) | sport | dport | len/seq | check/seq |
 *
 * The quoted packet went one way through a translation; turned around it is a packet of the other
 * direction, so its conntrack entry (looked up like sy_handle's: forward, then reply) holds exactly
 * the rewrite that undoes it. The outer destination takes the entry's destination rewrite (an SNAT
 * flow's client); the outer source takes its source rewrite only when the error comes from the
 * flow's far end itself (a backend's port unreachable now comes from the Service address, as the
 * client expects), while a router between keeps its own address.
 *
 * Checksums: the inner IP header's is recomputed, a quoted UDP checksum (inside the 8 quoted
 * bytes) adjusted unless zero; the ICMP checksum covers the whole quote and is adjusted by the
 * difference. A quoted TCP checksum (past the first 8 bytes) is left as it is: no stack checks
 * it in an error, and netfilter does the same for quotes that short. Errors quoting IP options,
 * a non-first fragment or anything but TCP/UDP pass untouched.
 */
#ifndef SY_ICMP_H
#define SY_ICMP_H

#include <linux/pkt_cls.h>

#include "maps.h"
#include "ct.h"
#include "parse.h"
#include "nat.h"
#include "reject.h"
#include "fib.h"

/* The quoted packet: an option-less IP header and the first 8 bytes of TCP or UDP. */
struct sy_icmp_quote {
	struct iphdr ip;
	__be16 sport;
	__be16 dport;
	__be16 udp_len;     /* TCP: half the sequence number */
	__sum16 udp_check;  /* TCP: the other half */
};

/* @check adjusted by @diff, a bpf_csum_diff() of the covered bytes (RFC 1624). */
static __always_inline __sum16 sy_csum_adjust(__sum16 check, __s64 diff)
{
	return sy_csum_fold((__u64)(__u16)~check + (__u64)(__u32)diff);
}

/* Rewrites the outer IP address at @off (no pseudo-header: ICMP's checksum does not cover it). */
static __always_inline int sy_icmp_outer_addr(struct __sk_buff *skb, __u32 off, __be32 from,
					      __be32 to)
{
	if (from == to)
		return 0;
	if (bpf_l3_csum_replace(skb, SY_IP_CSUM_OFF, from, to, sizeof(to)))
		return -1;
	return bpf_skb_store_bytes(skb, off, &to, sizeof(to), 0);
}

/* Gives @q, the quote of an error about the flow whose other direction has @nat, the addresses
 * and ports the flow's sender knows, with its checksums to match. */
static __always_inline void sy_icmp_quote_xlate(struct sy_icmp_quote *q, const struct sy_nat *nat)
{
	struct sy_icmp_quote old = *q;
	__s64 diff;

	if (nat->daddr)
		q->ip.saddr = nat->daddr;
	if (nat->saddr)
		q->ip.daddr = nat->saddr;
	if (nat->dport)
		q->sport = nat->dport;
	if (nat->sport)
		q->dport = nat->sport;

	q->ip.check = 0;
	diff = bpf_csum_diff(NULL, 0, (__be32 *)&q->ip, sizeof(q->ip), 0);
	q->ip.check = sy_csum_fold((__u64)(__u32)diff);
	if (q->ip.protocol == IPPROTO_UDP && old.udp_check) {
		/* addresses (pseudo-header) and ports: bytes 12..23 of the quote */
		diff = bpf_csum_diff((__be32 *)&old.ip.saddr, 12, (__be32 *)&q->ip.saddr, 12, 0);
		q->udp_check = sy_csum_adjust(old.udp_check, diff) ?: (__sum16)0xffff;
	}
}

/*
 * An ICMP packet at either hook: translates destination-unreachable and time-exceeded errors
 * about translated flows. Returns a tc verdict: TC_ACT_OK (translated or not ours), the redirect
 * of a BPF-routed error (its new source may be this node's own: bpf/fib.h), or TC_ACT_SHOT when a
 * rewrite failed half way.
 */
static __always_inline int sy_icmp_error(struct __sk_buff *skb, const struct sy_pkt *pkt)
{
	__u32 icmp_off = pkt->l4_off, quote_off = icmp_off + sizeof(struct sy_icmphdr);
	struct sy_icmp_quote q, old;
	struct sy_icmphdr icmp;
	struct sy_ct_entry *ct;
	struct sy_ct_key key;
	__be32 saddr, daddr;
	struct sy_nat nat;
	__u8 flags;

	if (bpf_skb_load_bytes(skb, icmp_off, &icmp, sizeof(icmp)) ||
	    (icmp.type != ICMP_DEST_UNREACH && icmp.type != ICMP_TIME_EXCEEDED) ||
	    bpf_skb_load_bytes(skb, quote_off, &q, sizeof(q)))
		return TC_ACT_OK;
	if (q.ip.version != 4 || q.ip.ihl != 5 || (q.ip.frag_off & bpf_htons(SY_IP_FRAG_OFFSET)) ||
	    (q.ip.protocol != IPPROTO_TCP && q.ip.protocol != IPPROTO_UDP))
		return TC_ACT_OK;

	/* The quote turned around: a packet of the flow's other direction. */
	key.saddr = q.ip.daddr;
	key.daddr = q.ip.saddr;
	key.sport = q.dport;
	key.dport = q.sport;
	key.proto = q.ip.protocol;
	key.dir = SY_CT_FORWARD;
	key.pad = 0;
	ct = sy_ct_find(&key);
	if (!ct) {
		key.dir = SY_CT_REPLY;
		ct = sy_ct_find(&key);
		if (!ct)
			return TC_ACT_OK;
	}
	nat = ct->nat;
	flags = ct->flags;

	old = q;
	sy_icmp_quote_xlate(&q, &nat);
	icmp.checksum = sy_csum_adjust(icmp.checksum,
				       bpf_csum_diff((__be32 *)&old, sizeof(old),
						     (__be32 *)&q, sizeof(q), 0));
	daddr = nat.daddr && pkt->daddr == key.daddr ? nat.daddr : pkt->daddr;
	saddr = nat.saddr && pkt->saddr == key.saddr ? nat.saddr : pkt->saddr;
	if (bpf_skb_store_bytes(skb, quote_off, &q, sizeof(q), BPF_F_RECOMPUTE_CSUM) ||
	    bpf_skb_store_bytes(skb, icmp_off + offsetof(struct sy_icmphdr, checksum),
				&icmp.checksum, sizeof(icmp.checksum), BPF_F_RECOMPUTE_CSUM) ||
	    sy_icmp_outer_addr(skb, SY_IP_SADDR_OFF, pkt->saddr, saddr) ||
	    sy_icmp_outer_addr(skb, SY_IP_DADDR_OFF, pkt->daddr, daddr))
		return TC_ACT_SHOT;
	sy_counter_inc(SY_CNT_ICMP_XLATED);

	if ((flags & SY_CT_NODEPORT) && saddr != pkt->saddr)
		return sy_fib_forward(skb, saddr, daddr, IPPROTO_ICMP);
	return TC_ACT_OK;
}

#endif /* SY_ICMP_H */
