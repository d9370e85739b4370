/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The IPv6 flow: parse (extension headers skipped), conntrack on 128-bit keys (conntrack6 and
 * ct_new6), backend selection (lb6.h: shared slots and maglev, backends6, affinity6), the
 * source-range check (source_ranges6), hairpin, and the rewrite. The IPv4 flow (switchyard.c)
 * never gets here: sy_handle6() runs in programs of its own (from_pod6, from_netdev6),
 * tail-called on the IPv6 ethertype, so neither the IPv4 per-packet cost nor from_netdev's
 * verifier budget grows by the v6 code (switchyard.c, docs/architecture.md "IPv6").
 *
 * Fragments: as for IPv4 (bpf/frag.h), a first fragment of a translated flow leaves its ports
 * in frags6 under (saddr, daddr, identification, proto), and the later ones borrow them, so every
 * fragment of the datagram finds its flow and gets its addresses. Later fragments carry no L4
 * header, and IPv6 has no header checksum: their rewrite is the addresses alone. Senders fragment
 * only their own oversized datagrams (IPv6 routers never do): a large UDP answer, such as a DNS
 * response with EDNS0, from a backend behind a Service.
 */
#ifndef SY_FLOW6_H
#define SY_FLOW6_H

#include <linux/bpf.h>
#include <linux/in6.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "switchyard.h"
#include "maps.h"
#include "clock.h"
#include "ct.h"
#include "maglev.h"
#include "nat.h"
#include "parse.h"

#define SY_IP6_SADDR_OFF  (SY_IP_OFF + offsetof(struct ipv6hdr, saddr))
#define SY_IP6_DADDR_OFF  (SY_IP_OFF + offsetof(struct ipv6hdr, daddr))
/* Extension headers walked before giving up; Linux itself sends at most a few. */
#define SY_IP6_MAX_EXT    4

static __always_inline bool sy_in6_is_zero(const __be32 *a)
{
	return !(a[0] | a[1] | a[2] | a[3]);
}

static __always_inline bool sy_in6_eq(const __be32 *a, const __be32 *b)
{
	return !((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3]));
}

static __always_inline void sy_in6_copy(__be32 *to, const __be32 *from)
{
	to[0] = from[0];
	to[1] = from[1];
	to[2] = from[2];
	to[3] = from[3];
}

/* The fragment header (RFC 8200 4.5). */
struct sy_frag6_hdr {
	__u8   nexthdr;
	__u8   reserved;
	__be16 frag_off;  /* offset in 8-byte units << 3, and the more-fragments bit */
	__be32 id;
};

#define SY_IP6_FRAG_OFFSET  0xfff8
#define SY_IP6_FRAG_MORE    0x0001

static __always_inline bool sy_ip6_ext_skippable(__u8 nexthdr)
{
	return nexthdr == IPPROTO_HOPOPTS || nexthdr == IPPROTO_ROUTING ||
	       nexthdr == IPPROTO_DSTOPTS;
}

/*
 * Fills @pkt for a TCP or UDP packet over IPv6, after up to SY_IP6_MAX_EXT hop-by-hop, routing
 * and destination-options headers (each: next header, length in 8-byte units beyond the first
 * 8) and one fragment header. Loads go through bpf_skb_load_bytes, so headers in paged data need
 * no pull. 0 (a later fragment: ports 0, to be borrowed); SY_PARSE_ICMP for ICMPv6 (addresses and
 * l4_off filled); or -1 to pass: not IPv6, another protocol, a short frame.
 */
static __always_inline int sy_parse6(struct __sk_buff *skb, struct sy_pkt6 *pkt)
{
	struct ipv6hdr ip;
	/* one buffer for each header in turn: extension (2 bytes read), fragment (8), TCP/UDP */
	union {
		__u8 ext[2];
		struct sy_frag6_hdr frag;
		__u8 l4[14];
	} h;
	__u32 off = SY_IP_OFF + sizeof(ip);
	__u16 frag_off;
	__u8 nh;
	int i;

	if (bpf_skb_load_bytes(skb, SY_IP_OFF, &ip, sizeof(ip)) || ip.version != 6)
		return -1;
	if (SY_IP_OFF + sizeof(ip) + bpf_ntohs(ip.payload_len) > skb->len)
		return -1;	/* a frame that lies about its length is the kernel's to drop */
	nh = ip.nexthdr;
	pkt->frag = SY_FRAG_NONE;
	pkt->frag_id = 0;
	for (i = 0; i < SY_IP6_MAX_EXT; i++) {
		if (nh == IPPROTO_FRAGMENT && pkt->frag == SY_FRAG_NONE) {
			if (bpf_skb_load_bytes(skb, off, &h.frag, sizeof(h.frag)))
				return -1;
			frag_off = bpf_ntohs(h.frag.frag_off);
			pkt->frag = frag_off & SY_IP6_FRAG_OFFSET ? SY_FRAG_LATER : SY_FRAG_FIRST;
			pkt->frag_id = h.frag.id;
			nh = h.frag.nexthdr;
			off += sizeof(h.frag);
			if (pkt->frag == SY_FRAG_LATER)
				break;	/* what follows is the middle of the datagram */
			continue;
		}
		if (!sy_ip6_ext_skippable(nh))
			break;
		if (bpf_skb_load_bytes(skb, off, h.ext, sizeof(h.ext)))
			return -1;
		nh = h.ext[0];
		off += (h.ext[1] + 1) * 8;
	}
	__builtin_memcpy(pkt->saddr, &ip.saddr, 16);
	__builtin_memcpy(pkt->daddr, &ip.daddr, 16);
	pkt->l4_off = off;
	pkt->proto = nh;
	pkt->tcp_flags = 0;
	if (nh == IPPROTO_ICMPV6 && pkt->frag == SY_FRAG_NONE)
		return SY_PARSE_ICMP;	/* errors about our flows: bpf/icmp6.h */
	if (nh != IPPROTO_TCP && nh != IPPROTO_UDP)
		return -1;	/* anything else, ICMPv6 in fragments */
	if (pkt->frag == SY_FRAG_LATER) {
		pkt->sport = 0;	/* no L4 header: the first fragment's ports, bpf/frag.h */
		pkt->dport = 0;
		return 0;
	}
	if (bpf_skb_load_bytes(skb, off, h.l4, nh == IPPROTO_TCP ? 14 : 8))
		return -1;
	pkt->sport = *(__be16 *)&h.l4[0];
	pkt->dport = *(__be16 *)&h.l4[2];
	pkt->tcp_flags = nh == IPPROTO_TCP ? h.l4[SY_TCP_FLAGS_OFF] : 0;
	return 0;
}

static __always_inline bool sy_tcp6_is_syn(const struct sy_pkt6 *pkt)
{
	return (pkt->tcp_flags & (SY_TCP_SYN | SY_TCP_ACK)) == SY_TCP_SYN;
}

static __always_inline __u32 sy_l4_csum_off6(const struct sy_pkt6 *pkt)
{
	return pkt->l4_off + (pkt->proto == IPPROTO_TCP ? offsetof(struct tcphdr, check)
							: offsetof(struct udphdr, check));
}

/* UDP over IPv6 always carries a checksum; the flag only keeps a computed 0 from being written. */
static __always_inline __u64 sy_l4_csum_flags6(const struct sy_pkt6 *pkt)
{
	return pkt->proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0;
}

/* Replaces the address at @off: IPv6 has no header checksum, only the L4 pseudo-header's. */
static __always_inline int sy_rewrite_addr6(struct __sk_buff *skb, const struct sy_pkt6 *pkt,
					    __u32 off, const __be32 *from, const __be32 *to)
{
	__s64 diff;

	/* A later fragment has no L4 checksum to keep: the first fragment's covers the datagram. */
	if (pkt->frag == SY_FRAG_LATER)
		return bpf_skb_store_bytes(skb, off, to, 16, 0);
	diff = bpf_csum_diff((__be32 *)from, 16, (__be32 *)to, 16, 0);
	if (diff < 0)
		return -1;
	if (bpf_l4_csum_replace(skb, sy_l4_csum_off6(pkt), 0, diff,
				BPF_F_PSEUDO_HDR | sy_l4_csum_flags6(pkt)))
		return -1;
	return bpf_skb_store_bytes(skb, off, to, 16, 0);
}

static __always_inline int sy_rewrite_port6(struct __sk_buff *skb, const struct sy_pkt6 *pkt,
					    __u32 off, __be16 from, __be16 to)
{
	if (bpf_l4_csum_replace(skb, sy_l4_csum_off6(pkt), from, to,
				sizeof(to) | sy_l4_csum_flags6(pkt)))
		return -1;
	return bpf_skb_store_bytes(skb, off, &to, sizeof(to), 0);
}

/* Writes @nat into the packet, as sy_nat_apply: each non-zero field that differs. 0 or -1. */
static __always_inline int sy_nat_apply6(struct __sk_buff *skb, const struct sy_pkt6 *pkt,
					 const struct sy_nat6 *nat)
{
	if (!sy_in6_is_zero(nat->saddr) && !sy_in6_eq(nat->saddr, pkt->saddr) &&
	    sy_rewrite_addr6(skb, pkt, SY_IP6_SADDR_OFF, pkt->saddr, nat->saddr))
		return -1;
	if (!sy_in6_is_zero(nat->daddr) && !sy_in6_eq(nat->daddr, pkt->daddr) &&
	    sy_rewrite_addr6(skb, pkt, SY_IP6_DADDR_OFF, pkt->daddr, nat->daddr))
		return -1;
	if (pkt->frag == SY_FRAG_LATER)
		return 0;	/* no ports here: the first fragment had them */
	if (nat->sport && nat->sport != pkt->sport &&
	    sy_rewrite_port6(skb, pkt, pkt->l4_off + SY_L4_SPORT_OFF, pkt->sport, nat->sport))
		return -1;
	if (nat->dport && nat->dport != pkt->dport &&
	    sy_rewrite_port6(skb, pkt, pkt->l4_off + SY_L4_DPORT_OFF, pkt->dport, nat->dport))
		return -1;
	return 0;
}

#endif /* SY_FLOW6_H */
