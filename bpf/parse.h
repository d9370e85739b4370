/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Bounded header parsing: Ethernet → IPv4 → TCP/UDP, into a small struct of values and
 * offsets. Nothing here writes to the packet, and anything not understood is reported as
 * "pass" so the caller can hand it to the kernel untouched.
 */
#ifndef SY_PARSE_H
#define SY_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define SY_IP_OFF          ETH_HLEN  /* pod veths carry untagged Ethernet */
#define SY_IP_FRAG_OFFSET  0x1fff    /* fragment offset bits of iphdr.frag_off (host order) */
#define SY_IP_MF           0x2000    /* more fragments */
#define SY_IP_DF           0x4000    /* don't fragment */

/* sy_pkt.frag: where a TCP/UDP packet stands among the fragments of its datagram. */
#define SY_FRAG_NONE   0   /* not fragmented */
/* offset 0 with more to come: carries the ports (bpf/frag.h records them) */
#define SY_FRAG_FIRST  1
#define SY_FRAG_LATER  2   /* offset > 0: no L4 header; its ports come from bpf/frag.h */

/* Bits of the TCP flags byte (offset 13 of the header). */
#define SY_TCP_FIN  0x01
#define SY_TCP_SYN  0x02
#define SY_TCP_RST  0x04
#define SY_TCP_ACK  0x10
#define SY_TCP_FLAGS_OFF  13

/* sy_parse() results. A positive value from sy_parse_linear() is a length to pull. */
#define SY_PARSE_OK    0
#define SY_PARSE_PASS  (-1)
/* an unfragmented ICMP packet: saddr, daddr, l4_off, ihl_len, len set */
#define SY_PARSE_ICMP  (-2)

/* What the data path needs to know about a TCP or UDP packet over IPv4 (or an ICMP one). */
struct sy_pkt {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u32  len;        /* skb->len, for the byte counters */
	__u16  l4_off;     /* TCP/UDP header offset from the start of the frame */
	__u8   ihl_len;    /* IPv4 header length in bytes, options included */
	__u8   proto;      /* IPPROTO_TCP or IPPROTO_UDP */
	__u8   tcp_flags;  /* SY_TCP_* bits; 0 for UDP */
	__u8   frag;       /* SY_FRAG_* */
	__u8   df;         /* the sender set don't-fragment */
	__be16 ip_id;      /* IPv4 identification: with the addresses and proto, names a datagram */
};

/* The same for IPv6 (parsed by sy_parse6, bpf/flow6.h). */
struct sy_pkt6 {
	__be32 saddr[4];
	__be32 daddr[4];
	__be16 sport;
	__be16 dport;
	__be32 frag_id;    /* the fragment header's identification */
	__u16  l4_off;     /* TCP/UDP header offset from the start of the frame */
	__u8   proto;
	__u8   tcp_flags;
	__u8   frag;       /* SY_FRAG_*, from a fragment header */
};

static __always_inline bool sy_tcp_is_syn(const struct sy_pkt *pkt)
{
	return (pkt->tcp_flags & (SY_TCP_SYN | SY_TCP_ACK)) == SY_TCP_SYN;
}

/*
 * Parses from the linear part of the skb. Returns SY_PARSE_OK, SY_PARSE_PASS, or the number
 * of linear bytes it would need to go on when the headers straddle into paged data.
 */
static __always_inline int sy_parse_linear(struct __sk_buff *skb, struct sy_pkt *pkt)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + SY_IP_OFF;
	__u32 ihl_len, l4_off, tot_len, l4_min;
	__u16 frag_off;

	if ((void *)(eth + 1) > data_end)
		return SY_PARSE_PASS;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return SY_PARSE_PASS;
	if ((void *)(ip + 1) > data_end)
		return SY_IP_OFF + sizeof(*ip);
	if (ip->version != 4 || ip->ihl < 5)
		return SY_PARSE_PASS;
	if (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP &&
	    ip->protocol != IPPROTO_ICMP)
		return SY_PARSE_PASS;

	/*
	 * tc ingress runs before the IP layer checks the header, so a frame that lies about its
	 * length reaches us: one whose total length falls short of its own headers, or runs past
	 * the frame. Translating it would hand the stack a rewritten packet it then drops anyway
	 * (or worse, checksums computed over bytes that are not the packet); it is the kernel's to
	 * drop, so it passes untouched.
	 */
	frag_off = bpf_ntohs(ip->frag_off);
	ihl_len = ip->ihl * 4;
	tot_len = bpf_ntohs(ip->tot_len);
	if (tot_len < ihl_len || SY_IP_OFF + tot_len > skb->len)
		return SY_PARSE_PASS;
	l4_off = SY_IP_OFF + ihl_len;
	pkt->saddr = ip->saddr;
	pkt->daddr = ip->daddr;
	pkt->proto = ip->protocol;
	pkt->ihl_len = ihl_len;
	pkt->l4_off = l4_off;
	pkt->len = skb->len;
	pkt->ip_id = ip->id;
	pkt->df = !!(frag_off & SY_IP_DF);
	pkt->tcp_flags = 0;

	/* ICMP errors about translated flows are translated back (bpf/icmp.h); a fragmented one
	 * is left alone, its quote may be cut. */
	if (pkt->proto == IPPROTO_ICMP)
		return frag_off & (SY_IP_MF | SY_IP_FRAG_OFFSET) ? SY_PARSE_PASS : SY_PARSE_ICMP;
	/* Only the first fragment carries ports; later ones borrow them from it (bpf/frag.h). */
	if (frag_off & SY_IP_FRAG_OFFSET) {
		pkt->frag = SY_FRAG_LATER;
		pkt->sport = 0;
		pkt->dport = 0;
		return SY_PARSE_OK;
	}
	pkt->frag = frag_off & SY_IP_MF ? SY_FRAG_FIRST : SY_FRAG_NONE;

	/* The same for the L4 header: l4_min is the smallest one of the protocol. */
	l4_min = ip->protocol == IPPROTO_TCP ? sizeof(struct tcphdr) : sizeof(struct udphdr);
	if (tot_len < ihl_len + l4_min)
		return SY_PARSE_PASS;

	if (pkt->proto == IPPROTO_TCP) {
		struct tcphdr *tcp = data + l4_off;

		if ((void *)(tcp + 1) > data_end)
			return l4_off + sizeof(*tcp);
		if (tcp->doff < 5 || ihl_len + tcp->doff * 4 > tot_len)
			return SY_PARSE_PASS;
		pkt->sport = tcp->source;
		pkt->dport = tcp->dest;
		pkt->tcp_flags = ((__u8 *)tcp)[SY_TCP_FLAGS_OFF];
	} else {
		struct udphdr *udp = data + l4_off;

		if ((void *)(udp + 1) > data_end)
			return l4_off + sizeof(*udp);
		pkt->sport = udp->source;
		pkt->dport = udp->dest;
	}
	return SY_PARSE_OK;
}

/*
 * Fills @pkt for a TCP or UDP packet over IPv4 (SY_PARSE_OK), or an ICMP one (SY_PARSE_ICMP);
 * SY_PARSE_PASS for anything else. Headers
 * are nearly always linear; when they are not, they are pulled in once and parsed again.
 */
static __always_inline int sy_parse(struct __sk_buff *skb, struct sy_pkt *pkt)
{
	int ret = sy_parse_linear(skb, pkt);

	if (ret > 0) {
		/* A packet shorter than its own headers is the kernel's to drop, not ours. */
		if ((__u32)ret > skb->len || bpf_skb_pull_data(skb, ret))
			return SY_PARSE_PASS;
		ret = sy_parse_linear(skb, pkt);
	}
	return ret == SY_PARSE_OK || ret == SY_PARSE_ICMP ? ret : SY_PARSE_PASS;
}

#endif /* SY_PARSE_H */
