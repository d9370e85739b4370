/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Address and port rewriting with incremental checksum updates.
 *
 * The helpers adjust checksums by difference, which is right whatever state the skb's
 * checksum is in: for CHECKSUM_PARTIAL (TCP and UDP from a pod, with veth offload) the L4
 * field holds only the pseudo-header sum, which BPF_F_PSEUDO_HDR updates and a port
 * change must leave alone — bpf_l4_csum_replace() knows both cases.
 */
#ifndef SY_NAT_H
#define SY_NAT_H

#include "parse.h"
#include "switchyard.h"

#define SY_IP_CSUM_OFF   (SY_IP_OFF + offsetof(struct iphdr, check))
#define SY_IP_SADDR_OFF  (SY_IP_OFF + offsetof(struct iphdr, saddr))
#define SY_IP_DADDR_OFF  (SY_IP_OFF + offsetof(struct iphdr, daddr))

/* TCP and UDP put their ports at the same offsets. */
#define SY_L4_SPORT_OFF  offsetof(struct udphdr, source)
#define SY_L4_DPORT_OFF  offsetof(struct udphdr, dest)

static __always_inline __u32 sy_l4_csum_off(const struct sy_pkt *pkt)
{
	return pkt->l4_off + (pkt->proto == IPPROTO_TCP ? offsetof(struct tcphdr, check)
							: offsetof(struct udphdr, check));
}

/*
 * For UDP, a zero checksum means "none" and must stay zero; BPF_F_MARK_MANGLED_0 makes the
 * helper skip a zero field and write 0xffff where a sum comes out zero (RFC 768).
 */
static __always_inline __u64 sy_l4_csum_flags(const struct sy_pkt *pkt)
{
	return pkt->proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0;
}

/* Replaces the IPv4 address at @off; it is in both the IP header and the L4 pseudo-header
 * (which a non-first fragment does not carry: its datagram's checksum is in the first). */
static __always_inline int sy_rewrite_addr(struct __sk_buff *skb, const struct sy_pkt *pkt,
					   __u32 off, __be32 from, __be32 to)
{
	if (pkt->frag != SY_FRAG_LATER &&
	    bpf_l4_csum_replace(skb, sy_l4_csum_off(pkt), from, to,
				BPF_F_PSEUDO_HDR | sizeof(to) | sy_l4_csum_flags(pkt)))
		return -1;
	if (bpf_l3_csum_replace(skb, SY_IP_CSUM_OFF, from, to, sizeof(to)))
		return -1;
	return bpf_skb_store_bytes(skb, off, &to, sizeof(to), 0);
}

/* Replaces the port at @off (relative to the frame); only the L4 checksum covers it. */
static __always_inline int sy_rewrite_port(struct __sk_buff *skb, const struct sy_pkt *pkt,
					   __u32 off, __be16 from, __be16 to)
{
	if (bpf_l4_csum_replace(skb, sy_l4_csum_off(pkt), from, to,
				sizeof(to) | sy_l4_csum_flags(pkt)))
		return -1;
	return bpf_skb_store_bytes(skb, off, &to, sizeof(to), 0);
}

/*
 * Writes @nat into the packet: each non-zero field that differs replaces the packet's.
 * Returns 0, or -1 if a helper failed and the packet may be half-rewritten (drop it).
 */
static __always_inline int sy_nat_apply(struct __sk_buff *skb, const struct sy_pkt *pkt,
					const struct sy_nat *nat)
{
	if (nat->saddr && nat->saddr != pkt->saddr &&
	    sy_rewrite_addr(skb, pkt, SY_IP_SADDR_OFF, pkt->saddr, nat->saddr))
		return -1;
	if (nat->daddr && nat->daddr != pkt->daddr &&
	    sy_rewrite_addr(skb, pkt, SY_IP_DADDR_OFF, pkt->daddr, nat->daddr))
		return -1;
	/* A non-first fragment has no ports: they sit in the first fragment only. */
	if (pkt->frag == SY_FRAG_LATER)
		return 0;
	if (nat->sport && nat->sport != pkt->sport &&
	    sy_rewrite_port(skb, pkt, pkt->l4_off + SY_L4_SPORT_OFF, pkt->sport, nat->sport))
		return -1;
	if (nat->dport && nat->dport != pkt->dport &&
	    sy_rewrite_port(skb, pkt, pkt->l4_off + SY_L4_DPORT_OFF, pkt->dport, nat->dport))
		return -1;
	return 0;
}

#endif /* SY_NAT_H */
