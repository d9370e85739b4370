/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ICMPv6 errors about translated IPv6 flows, translated back: bpf/icmp.h for IPv6, and for the
 * same reasons. A backend's closed UDP port answers "port unreachable" quoting {client → backend};
 * a router on a narrower path answers "packet too big" quoting {node → backend} for a NodePort
 * flow it SNATed. Untranslated, the client's stack matches neither to a socket: no ECONNREFUSED,
 * no path-MTU discovery (and IPv6 routers never fragment, so PMTU is the only way through).
 *
 *   | eth | ipv6 | ext… | icmp6 (8) | ipv6 (inner, 40) | sport | dport | len/seq | check/seq |
 *
 * The quote turned around is a packet of the flow's other direction; its entry (conntrack6, then
 * ct_new6; forward, then reply) holds the rewrite that undoes the translation. Outer addresses as
 * for IPv4: the destination takes the entry's destination rewrite, the source its source rewrite
 * only when the error comes from the flow's far end itself.
 *
 * Checksums, where IPv6 differs: the inner header has none; the ICMPv6 checksum covers a
 * pseudo-header, so it follows the outer addresses as well as the quote. A quoted UDP checksum is
 * adjusted (IPv6 UDP always has one); a quoted TCP checksum lies past the 8 quoted bytes, left as
 * bpf/icmp.h leaves it. Quotes with extension headers, and ICMPv6 other than destination
 * unreachable, packet too big and time exceeded (neighbour discovery!), pass untouched.
 */
#ifndef SY_ICMP6_H
#define SY_ICMP6_H

#include "ct6.h"
#include "fib.h"
#include "icmp.h"

#define SY_ICMP6_DEST_UNREACH  1
#define SY_ICMP6_PKT_TOOBIG    2
#define SY_ICMP6_TIME_EXCEED   3

/* The quoted packet: an IPv6 header without extensions and the first 8 bytes of TCP or UDP. */
struct sy_icmp6_quote {
	struct ipv6hdr ip;
	__be16 sport;
	__be16 dport;
	__be16 udp_len;     /* TCP: half the sequence number */
	__sum16 udp_check;  /* TCP: the other half */
};

/* The bytes of a quote a translation changes: both addresses and both ports, contiguous. */
#define SY_ICMP6_QUOTE_XLATE_OFF  offsetof(struct sy_icmp6_quote, ip.saddr)
#define SY_ICMP6_QUOTE_XLATE_LEN \
	(offsetof(struct sy_icmp6_quote, udp_len) - SY_ICMP6_QUOTE_XLATE_OFF)

static __always_inline bool sy_icmp6_is_error(__u8 type)
{
	return type == SY_ICMP6_DEST_UNREACH || type == SY_ICMP6_PKT_TOOBIG ||
	       type == SY_ICMP6_TIME_EXCEED;
}

/* Gives @q, the quote of an error about the flow whose other direction has @nat, the addresses
 * and ports the flow's sender knows, and its UDP checksum to match. */
static __always_inline void sy_icmp6_quote_xlate(struct sy_icmp6_quote *q,
						 const struct sy_nat6 *nat)
{
	struct sy_icmp6_quote old = *q;
	__s64 diff;

	if (!sy_in6_is_zero(nat->daddr))
		__builtin_memcpy(&q->ip.saddr, nat->daddr, 16);
	if (!sy_in6_is_zero(nat->saddr))
		__builtin_memcpy(&q->ip.daddr, nat->saddr, 16);
	if (nat->dport)
		q->sport = nat->dport;
	if (nat->sport)
		q->dport = nat->sport;
	if (q->ip.nexthdr == IPPROTO_UDP && old.udp_check) {
		diff = bpf_csum_diff((__be32 *)((__u8 *)&old + SY_ICMP6_QUOTE_XLATE_OFF),
				     SY_ICMP6_QUOTE_XLATE_LEN,
				     (__be32 *)((__u8 *)q + SY_ICMP6_QUOTE_XLATE_OFF),
				     SY_ICMP6_QUOTE_XLATE_LEN, 0);
		q->udp_check = sy_csum_adjust(old.udp_check, diff) ?: (__sum16)0xffff;
	}
}

/* The conntrack6 or ct_new6 entry of the flow @q quotes, turned around into @key. */
static __always_inline struct sy_ct6_entry *sy_icmp6_flow(struct sy_ct6_key *key,
							  const struct sy_icmp6_quote *q)
{
	struct sy_ct6_entry *ct;

	__builtin_memcpy(key->saddr, &q->ip.daddr, 16);
	__builtin_memcpy(key->daddr, &q->ip.saddr, 16);
	key->sport = q->dport;
	key->dport = q->sport;
	key->proto = q->ip.nexthdr;
	key->dir = SY_CT_FORWARD;
	key->pad = 0;
	ct = sy_ct6_find(key);
	if (ct)
		return ct;
	key->dir = SY_CT_REPLY;
	return sy_ct6_find(key);
}

/*
 * An ICMPv6 packet at either hook (@pkt: addresses and l4_off of the ICMPv6 header): translates
 * the errors about translated flows. A tc verdict: TC_ACT_OK (translated or not ours), the
 * redirect of a BPF-routed error, or TC_ACT_SHOT when a rewrite failed half way. Global: its
 * frame stays off the stack of the flow.
 */
__attribute__((noinline)) int sy_icmp6_error(struct __sk_buff *skb, const struct sy_pkt6 *pkt)
{
	struct sy_icmp6_quote q, old;
	struct bpf_fib_lookup fib;
	struct sy_icmphdr icmp;
	struct sy_ct6_entry *ct;
	struct sy_ct6_key key;
	__be32 saddr[4], daddr[4];
	__u32 icmp_off, quote_off;
	struct sy_nat6 nat;
	__s64 diff;
	__u8 flags;

	if (!skb || !pkt)
		return TC_ACT_OK;
	icmp_off = pkt->l4_off;
	quote_off = icmp_off + sizeof(icmp);
	if (bpf_skb_load_bytes(skb, icmp_off, &icmp, sizeof(icmp)) ||
	    !sy_icmp6_is_error(icmp.type) || bpf_skb_load_bytes(skb, quote_off, &q, sizeof(q)))
		return TC_ACT_OK;
	if (q.ip.version != 6 || (q.ip.nexthdr != IPPROTO_TCP && q.ip.nexthdr != IPPROTO_UDP))
		return TC_ACT_OK;
	ct = sy_icmp6_flow(&key, &q);
	if (!ct)
		return TC_ACT_OK;
	nat = ct->nat;
	flags = ct->flags;

	old = q;
	sy_icmp6_quote_xlate(&q, &nat);
	sy_in6_copy(daddr, !sy_in6_is_zero(nat.daddr) && sy_in6_eq(pkt->daddr, key.daddr) ?
			   nat.daddr : pkt->daddr);
	sy_in6_copy(saddr, !sy_in6_is_zero(nat.saddr) && sy_in6_eq(pkt->saddr, key.saddr) ?
			   nat.saddr : pkt->saddr);
	/* One sum of every change the ICMPv6 checksum covers: the quote, then the pseudo-header. */
	diff = bpf_csum_diff((__be32 *)&old, sizeof(old), (__be32 *)&q, sizeof(q), 0);
	diff = bpf_csum_diff((__be32 *)pkt->saddr, 16, saddr, 16, (__u32)diff);
	diff = bpf_csum_diff((__be32 *)pkt->daddr, 16, daddr, 16, (__u32)diff);
	icmp.checksum = sy_csum_adjust(icmp.checksum, diff);
	if (bpf_skb_store_bytes(skb, quote_off, &q, sizeof(q), BPF_F_RECOMPUTE_CSUM) ||
	    bpf_skb_store_bytes(skb, icmp_off + offsetof(struct sy_icmphdr, checksum),
				&icmp.checksum, sizeof(icmp.checksum), BPF_F_RECOMPUTE_CSUM) ||
	    bpf_skb_store_bytes(skb, SY_IP6_SADDR_OFF, saddr, 16, BPF_F_RECOMPUTE_CSUM) ||
	    bpf_skb_store_bytes(skb, SY_IP6_DADDR_OFF, daddr, 16, BPF_F_RECOMPUTE_CSUM))
		return TC_ACT_SHOT;
	sy_counter_inc(SY_CNT_ICMP_XLATED);

	if ((flags & SY_CT_NODEPORT) && !sy_in6_eq(saddr, pkt->saddr))
		return sy_fib_send_family(skb, &fib, sy_fib_lookup6(skb, &fib, saddr, daddr,
								     IPPROTO_ICMPV6), AF_INET6);
	return TC_ACT_OK;
}

#endif /* SY_ICMP6_H */
