/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Conntrack: one self-contained entry per direction of a translated flow. Each entry's
 * `nat` is the rewrite for packets matching its key, so either direction is one lookup.
 * The two entries of a flow name each other implicitly: the peer's key is the packet as
 * rewritten, turned around (sy_ct_peer_key), and the peer is only looked up when state
 * changes or a lifetime ran out — a handful of times per flow, not per packet.
 */
#ifndef SY_CT_H
#define SY_CT_H

#include "clock.h"
#include "maps.h"
#include "parse.h"

static __always_inline void sy_ct_key_of(struct sy_ct_key *key, const struct sy_pkt *pkt, __u8 dir)
{
	key->saddr = pkt->saddr;
	key->daddr = pkt->daddr;
	key->sport = pkt->sport;
	key->dport = pkt->dport;
	key->proto = pkt->proto;
	key->dir = dir;
	key->pad = 0;
}

/* The other direction's key: a packet matching @key, rewritten by @nat, then reversed. */
static __always_inline void sy_ct_peer_key(struct sy_ct_key *peer, const struct sy_ct_key *key,
					   const struct sy_nat *nat)
{
	peer->saddr = nat->daddr ? nat->daddr : key->daddr;
	peer->daddr = nat->saddr ? nat->saddr : key->saddr;
	peer->sport = nat->dport ? nat->dport : key->dport;
	peer->dport = nat->sport ? nat->sport : key->sport;
	peer->proto = key->proto;
	peer->dir = key->dir == SY_CT_FORWARD ? SY_CT_REPLY : SY_CT_FORWARD;
	peer->pad = 0;
}

static __always_inline __u64 sy_ct_lifetime_ns(__u8 flags, __u8 proto)
{
	__u64 secs;

	if (proto != IPPROTO_TCP)
		secs = SY_CT_LIFETIME_UDP;
	else if (flags & SY_CT_CLOSING)
		secs = SY_CT_LIFETIME_CLOSING;
	else if (flags & SY_CT_SEEN_REPLY)
		secs = SY_CT_LIFETIME_TCP;
	else
		secs = SY_CT_LIFETIME_SYN;
	return secs * SY_NSEC_PER_SEC;
}

/* Whether the entry saw traffic within its lifetime (a stamp from the future: see clock.h). */
static __always_inline bool sy_ct_fresh(const struct sy_ct_entry *ct, __u8 proto, __u64 now)
{
	return sy_within(ct->last_seen_ns, now, sy_ct_lifetime_ns(ct->flags, proto));
}

/*
 * The other direction's entry of the flow keyed @key (rewriting by @nat), if it is still this
 * flow's: a client that reuses its port starts a new flow that overwrites the forward entry,
 * and the old reply entry must not then treat the new flow as its own (staying alive on its
 * traffic, or marking it closing on a late RST). The peer is ours when its own rewrite leads
 * back to @key.
 */
static __always_inline struct sy_ct_entry *sy_ct_peer(const struct sy_ct_key *key, const struct sy_nat *nat)
{
	struct sy_ct_key peer, back;
	struct sy_ct_entry *p;
	struct sy_nat peer_nat;

	sy_ct_peer_key(&peer, key, nat);
	p = bpf_map_lookup_elem(&conntrack, &peer);
	if (!p)
		return NULL;
	peer_nat = p->nat;
	sy_ct_peer_key(&back, &peer, &peer_nat);
	if (back.saddr != key->saddr || back.daddr != key->daddr ||
	    back.sport != key->sport || back.dport != key->dport)
		return NULL;
	return p;
}

/* An entry is live while it, or its peer, has seen traffic within its lifetime. */
static __always_inline bool sy_ct_live(const struct sy_ct_entry *ct, const struct sy_ct_key *key,
				       __u64 now)
{
	struct sy_nat nat = ct->nat;
	struct sy_ct_entry *p;

	if (sy_ct_fresh(ct, key->proto, now))
		return true;
	p = sy_ct_peer(key, &nat);
	return p && sy_ct_fresh(p, key->proto, now);
}

/*
 * Stamps a hit and records new state bits in both directions' entries. Flag updates are
 * plain read-modify-writes: a bit lost to a race between CPUs is set again by the next
 * packet, because the check below sees it missing.
 */
static __always_inline void sy_ct_touch(struct sy_ct_entry *ct, const struct sy_ct_key *key,
					const struct sy_nat *nat, __u8 flags, __u64 now)
{
	struct sy_ct_entry *p;

	ct->last_seen_ns = now;
	if ((ct->flags & flags) == flags)
		return;
	ct->flags |= flags;
	p = sy_ct_peer(key, nat);
	if (p) {
		p->flags |= flags;
		p->last_seen_ns = now;
	}
}

/* sy_ct_create() with BPF_NOEXIST: the reply key is someone else's (see bpf/snat.h). */
#define SY_CT_TAKEN  1

/*
 * Records a new flow: the forward entry under @fwd_key rewriting by @fwd_nat, and the reply
 * entry that undoes it — each field the forward rewrite replaced is restored on the way
 * back (frontend address and port as source; the client as destination when its source
 * was rewritten). The reply entry goes first so a reply can never beat it.
 *
 * @reply_update is BPF_ANY, or BPF_NOEXIST when the reply key must be new (an SNAT port being
 * claimed): then SY_CT_TAKEN says it exists, and nothing was written. Otherwise 0, or -1.
 */
static __always_inline int sy_ct_create(const struct sy_ct_key *fwd_key, const struct sy_nat *fwd_nat,
					__u32 backend_id, __u32 svc_id, __u8 flags, __u64 now,
					__u64 reply_update)
{
	long ret;
	struct sy_ct_key reply_key;
	struct sy_ct_entry e;

	/* The value has tail padding an initializer may leave as stack garbage. */
	__builtin_memset(&e, 0, sizeof(e));
	e.last_seen_ns = now;
	e.backend_id = backend_id;
	e.svc_id = svc_id;
	e.flags = flags;

	sy_ct_peer_key(&reply_key, fwd_key, fwd_nat);
	e.nat.saddr = fwd_nat->daddr ? fwd_key->daddr : 0;
	e.nat.daddr = fwd_nat->saddr ? fwd_key->saddr : 0;
	e.nat.sport = fwd_nat->dport ? fwd_key->dport : 0;
	e.nat.dport = fwd_nat->sport ? fwd_key->sport : 0;
	ret = bpf_map_update_elem(&conntrack, &reply_key, &e, reply_update);
	if (ret == -17 /* EEXIST */ && reply_update == BPF_NOEXIST)
		return SY_CT_TAKEN;
	if (ret)
		return -1;

	e.nat = *fwd_nat;
	return bpf_map_update_elem(&conntrack, fwd_key, &e, BPF_ANY) ? -1 : 0;
}

/*
 * Records a new flow whose reply entry was found taken (sy_ct_create with BPF_NOEXIST said
 * SY_CT_TAKEN). Two flows C:p → VIP1 and C:p → VIP2 that pick the same backend B:port have the
 * same reply key {B:port → C:p}: written over, the first flow's replies would leave with the
 * second's Service address. So the key is taken over only when it is this flow's own (the client
 * reopening the same flow: a re-selected UDP backend, a SYN on a closing entry) or its flow is
 * over; while another flow lives it stays that flow's and this returns SY_CT_TAKEN - the caller
 * drops the packet, and the client's retry picks a backend afresh. Otherwise as sy_ct_create.
 *
 * The race: two CPUs creating the two colliding flows at once both see the key taken or free in
 * their own order; BPF_NOEXIST makes only one of them win the insert, and the loser re-checks here.
 * A flow going dead between the check and the BPF_ANY write below is only overwritten, as intended.
 */
static __always_inline int sy_ct_claim(const struct sy_ct_key *fwd_key, const struct sy_nat *fwd_nat,
				       __u32 backend_id, __u32 svc_id, __u8 flags, __u64 now)
{
	struct sy_ct_key reply_key, back;
	struct sy_ct_entry *old;
	struct sy_nat old_nat;

	sy_ct_peer_key(&reply_key, fwd_key, fwd_nat);
	old = bpf_map_lookup_elem(&conntrack, &reply_key);
	if (old) {
		old_nat = old->nat;
		sy_ct_peer_key(&back, &reply_key, &old_nat);
		if ((back.saddr != fwd_key->saddr || back.daddr != fwd_key->daddr ||
		     back.sport != fwd_key->sport || back.dport != fwd_key->dport) &&
		    sy_ct_live(old, &reply_key, now))
			return SY_CT_TAKEN;
	}
	return sy_ct_create(fwd_key, fwd_nat, backend_id, svc_id, flags, now, BPF_ANY);
}

#endif /* SY_CT_H */
