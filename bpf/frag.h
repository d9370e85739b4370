/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Fragments of translated flows (IPv4; IPv6 at the end, the same rules on frags6). Only a
 * datagram's first fragment carries the TCP/UDP header; the later ones have addresses, IP id
 * and protocol, nothing else. When a first fragment is translated, its ports are recorded under
 * (saddr, daddr, id, proto) as it arrived, and a later fragment arriving at the same hook borrows
 * them: with them it finds the same conntrack entry (so the flow decides, in both directions,
 * through every path) and gets the same addresses
 * (the ports, and the L4 checksum, are the first fragment's business alone).
 *
 * Never for untranslated flows: nothing is recorded for them, so their fragments find nothing and
 * pass untouched, as do fragments whose first fragment arrived after them (reordering), or more
 * than SY_FRAG_LIFETIME_S earlier. Limits: a later fragment overtaking its first is sent on
 * untranslated and the datagram is lost (the sender's retry usually arrives in order); an entry
 * outliving its datagram could lend its ports to a new datagram reusing the IP id between the same
 * two hosts within SY_FRAG_LIFETIME_S - but only a translated flow's, and Linux draws ids per
 * destination so such reuse takes tens of thousands of datagrams.
 */
#ifndef SY_FRAG_H
#define SY_FRAG_H

#include "clock.h"
#include "maps.h"
#include "parse.h"

static __always_inline void sy_frag_key_of(struct sy_frag_key *key, const struct sy_pkt *pkt)
{
	key->saddr = pkt->saddr;
	key->daddr = pkt->daddr;
	key->id = pkt->ip_id;
	key->proto = pkt->proto;
	key->pad = 0;
}

/* Records the ports of @pkt, a first fragment being translated. */
static __always_inline void sy_frag_record(const struct sy_pkt *pkt, __u64 now)
{
	struct sy_frag_key key;
	struct sy_frag f;

	sy_frag_key_of(&key, pkt);
	__builtin_memset(&f, 0, sizeof(f));
	f.first_seen_ns = now;
	f.sport = pkt->sport;
	f.dport = pkt->dport;
	bpf_map_update_elem(&frags, &key, &f, BPF_ANY);
}

/* Gives @pkt, a later fragment, its datagram's ports. -1 when its flow was not translated here. */
static __always_inline int sy_frag_ports(struct sy_pkt *pkt, __u64 now)
{
	struct sy_frag_key key;
	struct sy_frag *f;

	sy_frag_key_of(&key, pkt);
	f = bpf_map_lookup_elem(&frags, &key);
	if (!f || !sy_within(f->first_seen_ns, now, SY_FRAG_LIFETIME_S * SY_NSEC_PER_SEC))
		return -1;
	pkt->sport = f->sport;
	pkt->dport = f->dport;
	return 0;
}

/* The same for IPv6 (frags6; the identification comes from the fragment header, bpf/flow6.h). */
static __always_inline void sy_frag6_key_of(struct sy_frag6_key *key, const struct sy_pkt6 *pkt)
{
	__builtin_memcpy(key->saddr, pkt->saddr, sizeof(key->saddr));
	__builtin_memcpy(key->daddr, pkt->daddr, sizeof(key->daddr));
	key->id = pkt->frag_id;
	key->proto = pkt->proto;
	key->pad[0] = 0;
	key->pad[1] = 0;
	key->pad[2] = 0;
}

/* Global, as the other calls of the v6 flow: its key's frame stays off the flow's stack. */
__attribute__((noinline)) int sy_frag6_record(const struct sy_pkt6 *pkt, __u64 now)
{
	struct sy_frag6_key key;
	struct sy_frag f;

	if (!pkt)
		return 0;
	sy_frag6_key_of(&key, pkt);
	__builtin_memset(&f, 0, sizeof(f));
	f.first_seen_ns = now;
	f.sport = pkt->sport;
	f.dport = pkt->dport;
	bpf_map_update_elem(&frags6, &key, &f, BPF_ANY);
	return 0;
}

__attribute__((noinline)) int sy_frag6_ports(struct sy_pkt6 *pkt, __u64 now)
{
	struct sy_frag6_key key;
	struct sy_frag *f;

	if (!pkt)
		return -1;
	sy_frag6_key_of(&key, pkt);
	f = bpf_map_lookup_elem(&frags6, &key);
	if (!f || !sy_within(f->first_seen_ns, now, SY_FRAG_LIFETIME_S * SY_NSEC_PER_SEC))
		return -1;
	pkt->sport = f->sport;
	pkt->dport = f->dport;
	return 0;
}

#endif /* SY_FRAG_H */
