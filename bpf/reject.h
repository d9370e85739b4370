/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Reject: turn a packet for a Service without endpoints into an ICMP port unreachable
 * from the Service address, and send it back out of the device it came in on — the pod's
 * veth — so the client sees "connection refused" at once, as with kube-proxy.
 *
 *   before: | eth | ip (ihl*4) | tcp/udp ... |
 *   after:  | eth (MACs swapped) | ip (20) | icmp (8) | ip (ihl*4) | tcp 20 / udp 8 |
 */
#ifndef SY_REJECT_H
#define SY_REJECT_H

#include <linux/ipv6.h>
#include <linux/pkt_cls.h>

#include "parse.h"

/*
 * The ICMP header, defined here rather than taken from <linux/icmp.h>: that UAPI header
 * includes <linux/if.h>, which pulls in glibc's <sys/socket.h>, and under -target bpf glibc
 * then wants gnu/stubs-32.h from a multilib package. The BPF objects build from the kernel's
 * UAPI and libbpf headers alone (make check-bpf-headers enforces it). Layout: RFC 792.
 */
struct sy_icmphdr {
	__u8    type;
	__u8    code;
	__sum16 checksum;
	__be32  unused;   /* destination unreachable: unused (frag-needed: 16 unused + MTU) */
};

#define ICMP_DEST_UNREACH  3
#define ICMP_PORT_UNREACH  3
#define ICMP_FRAG_NEEDED   4
#define ICMP_TIME_EXCEEDED 11

#define SY_ICMP_TTL  64

/*
 * How much of the original to quote: RFC 792 asks for the IP header and 8 bytes. For TCP
 * we keep the whole 20-byte header, because a CHECKSUM_PARTIAL skb (every TCP segment a
 * pod sends over veth) cannot be trimmed short of its checksum field: the kernel refuses.
 */
#define SY_ICMP_QUOTE_MAX  (60 + sizeof(struct tcphdr))

/* The headers put in front of the quote. */
struct sy_icmp_err {
	struct iphdr   ip;
	struct sy_icmphdr icmp;
};

static __always_inline __sum16 sy_csum_fold(__u64 csum)
{
	csum = (csum & 0xffff) + (csum >> 16);
	csum = (csum & 0xffff) + (csum >> 16);
	csum = (csum & 0xffff) + (csum >> 16);
	return (__sum16)~csum;
}

/*
 * Rewrites the skb into a destination-unreachable error of @code (ICMP_FRAG_NEEDED carries
 * @mtu), from the packet's destination, and redirects it. Returns a tc verdict: the
 * redirect, or TC_ACT_SHOT if the skb could not be reshaped (it may be half-built).
 *
 * A CHECKSUM_PARTIAL skb stays so, its csum_start now pointing at the quoted L4 header;
 * the pod's stack takes PARTIAL as verified, and the ICMP checksum written here is right
 * for the bytes as they stand, so a capture on either side shows a valid packet.
 */
static __always_inline int sy_icmp_unreach(struct __sk_buff *skb, const struct sy_pkt *pkt,
					   __u8 code, __u16 mtu)
{
	__u32 quote[SY_ICMP_QUOTE_MAX / sizeof(__u32)] = {};
	struct sy_icmp_err h = {};
	struct ethhdr eth, reply_eth;
	__u32 quote_len;
	__s64 sum;

	quote_len = pkt->ihl_len + (pkt->proto == IPPROTO_TCP ? sizeof(struct tcphdr)
							      : sizeof(struct udphdr));
	if (quote_len < sizeof(struct iphdr) + sizeof(struct udphdr) || quote_len > sizeof(quote))
		return TC_ACT_SHOT;
	if (bpf_skb_load_bytes(skb, 0, &eth, sizeof(eth)) ||
	    bpf_skb_load_bytes(skb, SY_IP_OFF, quote, quote_len))
		return TC_ACT_SHOT;

	__builtin_memcpy(reply_eth.h_dest, eth.h_source, ETH_ALEN);
	__builtin_memcpy(reply_eth.h_source, eth.h_dest, ETH_ALEN);
	reply_eth.h_proto = bpf_htons(ETH_P_IP);

	h.ip.version = 4;
	h.ip.ihl = sizeof(h.ip) / 4;
	h.ip.tot_len = bpf_htons(sizeof(h) + quote_len);
	h.ip.ttl = SY_ICMP_TTL;
	h.ip.protocol = IPPROTO_ICMP;
	h.ip.saddr = pkt->daddr;
	h.ip.daddr = pkt->saddr;
	sum = bpf_csum_diff(NULL, 0, (__be32 *)&h.ip, sizeof(h.ip), 0);
	if (sum < 0)
		return TC_ACT_SHOT;
	h.ip.check = sy_csum_fold(sum);

	h.icmp.type = ICMP_DEST_UNREACH;
	h.icmp.code = code;
	/* frag-needed: 16 bits unused, then the next hop's MTU */
	h.icmp.unused = bpf_htonl(mtu);
	sum = bpf_csum_diff(NULL, 0, quote, quote_len, 0);
	if (sum < 0)
		return TC_ACT_SHOT;
	sum = bpf_csum_diff(NULL, 0, (__be32 *)&h.icmp, sizeof(h.icmp), sum);
	if (sum < 0)
		return TC_ACT_SHOT;
	h.icmp.checksum = sy_csum_fold(sum);

	/* Keep eth + quote, then open room for the new headers between L2 and the old L3. */
	if (bpf_skb_change_tail(skb, SY_IP_OFF + quote_len, 0) ||
	    bpf_skb_adjust_room(skb, sizeof(h), BPF_ADJ_ROOM_MAC, 0))
		return TC_ACT_SHOT;
	if (bpf_skb_store_bytes(skb, 0, &reply_eth, sizeof(reply_eth), BPF_F_RECOMPUTE_CSUM) ||
	    bpf_skb_store_bytes(skb, SY_IP_OFF, &h, sizeof(h), BPF_F_RECOMPUTE_CSUM))
		return TC_ACT_SHOT;

	/* Out of the same device: from the host side of the veth that is back into the pod. */
	return bpf_redirect(skb->ifindex, 0);
}

/* A Service without endpoints: ICMP port unreachable from the Service address. */
static __always_inline int sy_reject(struct __sk_buff *skb, const struct sy_pkt *pkt)
{
	return sy_icmp_unreach(skb, pkt, ICMP_PORT_UNREACH, 0);
}

/*
 * The IPv6 twin of sy_icmp_unreach for a Service without endpoints: ICMPv6 destination
 * unreachable, port unreachable (RFC 4443 3.1), from the Service address, quoting the packet up
 * to its L4 header (at most SY_ICMP6_QUOTE_MAX bytes: the extension headers may be long). The
 * checksum covers the pseudo-header (source, destination, upper-layer length, next header 58).
 * Global: its frame stays off the stack of the flow that calls it.
 */
#define SY_ICMP6_QUOTE_MAX  128
#define SY_ICMP6_DEST_UNREACH  1
#define SY_ICMP6_PORT_UNREACH  4

struct sy_icmp6_err {
	struct ipv6hdr    ip;
	struct sy_icmphdr icmp;
};

__attribute__((noinline)) int sy_reject6(struct __sk_buff *skb, const struct sy_pkt6 *pkt)
{
	__u32 quote[SY_ICMP6_QUOTE_MAX / sizeof(__u32)] = {};
	struct sy_icmp6_err h = {};
	struct ethhdr eth, reply_eth;
	__be32 pseudo[2];
	__u32 quote_len;
	__s64 sum;

	if (!skb || !pkt)
		return TC_ACT_SHOT;
	quote_len = pkt->l4_off - SY_IP_OFF + (pkt->proto == IPPROTO_TCP ? sizeof(struct tcphdr)
									  : sizeof(struct udphdr));
	if (quote_len > sizeof(quote))
		quote_len = sizeof(quote);
	if (quote_len < sizeof(struct ipv6hdr) + sizeof(struct udphdr))
		return TC_ACT_SHOT;
	if (bpf_skb_load_bytes(skb, 0, &eth, sizeof(eth)) ||
	    bpf_skb_load_bytes(skb, SY_IP_OFF, quote, quote_len))
		return TC_ACT_SHOT;

	__builtin_memcpy(reply_eth.h_dest, eth.h_source, ETH_ALEN);
	__builtin_memcpy(reply_eth.h_source, eth.h_dest, ETH_ALEN);
	reply_eth.h_proto = bpf_htons(ETH_P_IPV6);

	h.ip.version = 6;
	h.ip.payload_len = bpf_htons(sizeof(h.icmp) + quote_len);
	h.ip.nexthdr = IPPROTO_ICMPV6;
	h.ip.hop_limit = SY_ICMP_TTL;
	__builtin_memcpy(&h.ip.saddr, pkt->daddr, 16);
	__builtin_memcpy(&h.ip.daddr, pkt->saddr, 16);
	h.icmp.type = SY_ICMP6_DEST_UNREACH;
	h.icmp.code = SY_ICMP6_PORT_UNREACH;

	pseudo[0] = bpf_htonl(sizeof(h.icmp) + quote_len);
	pseudo[1] = bpf_htonl(IPPROTO_ICMPV6);
	sum = bpf_csum_diff(NULL, 0, (__be32 *)&h.ip.saddr, 32, 0);
	if (sum >= 0)
		sum = bpf_csum_diff(NULL, 0, pseudo, sizeof(pseudo), sum);
	if (sum >= 0)
		sum = bpf_csum_diff(NULL, 0, (__be32 *)&h.icmp, sizeof(h.icmp), sum);
	if (sum >= 0)
		sum = bpf_csum_diff(NULL, 0, quote, quote_len, sum);
	if (sum < 0)
		return TC_ACT_SHOT;
	h.icmp.checksum = sy_csum_fold(sum);

	if (bpf_skb_change_tail(skb, SY_IP_OFF + quote_len, 0) ||
	    bpf_skb_adjust_room(skb, sizeof(h), BPF_ADJ_ROOM_MAC, 0))
		return TC_ACT_SHOT;
	if (bpf_skb_store_bytes(skb, 0, &reply_eth, sizeof(reply_eth), BPF_F_RECOMPUTE_CSUM) ||
	    bpf_skb_store_bytes(skb, SY_IP_OFF, &h, sizeof(h), BPF_F_RECOMPUTE_CSUM))
		return TC_ACT_SHOT;
	return bpf_redirect(skb->ifindex, 0);
}

#endif /* SY_REJECT_H */
