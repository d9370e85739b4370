/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * IPv6 conntrack: the IPv4 rules of bpf/ct.h on conntrack6 and ct_new6. New flows start in
 * ct_new6, the first reply moves both entries to conntrack6, each entry holds the rewrite for its
 * direction. Simpler than v4 where it costs little: an entry is live by its own lifetime only (its
 * peer does not keep it alive), and ct_new6 is not counted in SY_CNT_CT_NEW_ADDED/_REMOVED (those
 * describe ct_new). Used by the v6 flow (bpf/handle6.h) and its ICMPv6 errors (bpf/icmp6.h).
 */
#ifndef SY_CT6_H
#define SY_CT6_H

#include "flow6.h"
#include "ct.h"

static __always_inline void sy_ct6_key_of(struct sy_ct6_key *key, const struct sy_pkt6 *pkt,
					  __u8 dir)
{
	sy_in6_copy(key->saddr, pkt->saddr);
	sy_in6_copy(key->daddr, pkt->daddr);
	key->sport = pkt->sport;
	key->dport = pkt->dport;
	key->proto = pkt->proto;
	key->dir = dir;
	key->pad = 0;
}

/* The entry of the other direction: the key a packet matching @key, rewritten by @nat, has
 * when it comes back; and, to @rnat (when not NULL), the rewrite that undoes @nat. */
static __always_inline void sy_ct6_peer_of(struct sy_ct6_key *peer, struct sy_nat6 *rnat,
					   const struct sy_ct6_key *key,
					   const struct sy_nat6 *nat)
{
	sy_in6_copy(peer->saddr, sy_in6_is_zero(nat->daddr) ? key->daddr : nat->daddr);
	sy_in6_copy(peer->daddr, sy_in6_is_zero(nat->saddr) ? key->saddr : nat->saddr);
	peer->sport = nat->dport ? nat->dport : key->dport;
	peer->dport = nat->sport ? nat->sport : key->sport;
	peer->proto = key->proto;
	peer->dir = key->dir == SY_CT_FORWARD ? SY_CT_REPLY : SY_CT_FORWARD;
	peer->pad = 0;
	if (!rnat)
		return;
	__builtin_memset(rnat, 0, sizeof(*rnat));
	if (!sy_in6_is_zero(nat->daddr))
		sy_in6_copy(rnat->saddr, key->daddr);
	if (!sy_in6_is_zero(nat->saddr))
		sy_in6_copy(rnat->daddr, key->saddr);
	rnat->sport = nat->dport ? key->dport : 0;
	rnat->dport = nat->sport ? key->sport : 0;
}

static __always_inline struct sy_ct6_entry *sy_ct6_find(const struct sy_ct6_key *key)
{
	struct sy_ct6_entry *ct = bpf_map_lookup_elem(&conntrack6, key);

	return ct ? ct : bpf_map_lookup_elem(&ct_new6, key);
}

static __always_inline bool sy_ct6_fresh(const struct sy_ct6_entry *ct, __u8 proto, __u64 now)
{
	return sy_within(ct->last_seen_ns, now, sy_ct_lifetime_ns(ct->flags, proto));
}

/*
 * Whether the reply entry @held blocks the new flow @fwd from its key: it is fresh, or, when the
 * new flow is SNATed (its port claimed by this key), a TCP flow's within SY_SNAT_TCP_REUSE_S (the
 * backend's TIME_WAIT, see switchyard.h). A closing TCP flow does not block a flow that keeps the
 * client's port: it is the client's TIME_WAIT, and the client may reuse the port towards another
 * Service with the same backend at once (sy_ct_held says why for IPv4: holding it dropped about
 * one connection in a few hundred, and it did so here too, in the dual-stack lab's e2e).
 */
static __always_inline bool sy_ct6_holds(const struct sy_ct6_entry *held, __u8 proto,
					 const struct sy_ct6_entry *fwd, __u64 now)
{
	bool snat = !sy_in6_is_zero(fwd->nat.saddr) && !(fwd->flags & SY_CT_HAIRPIN);

	if (proto == IPPROTO_TCP && !snat && (held->flags & SY_CT_CLOSING))
		return false;
	if (sy_ct6_fresh(held, proto, now))
		return true;
	return proto == IPPROTO_TCP && snat &&
	       sy_within(held->last_seen_ns, now, SY_SNAT_TCP_REUSE_S * SY_NSEC_PER_SEC);
}

/*
 * Records a new flow in ct_new6: @fwd under @fwd_key, and first (so no reply can beat it) the
 * reply entry that undoes it, with BPF_NOEXIST. A reply key held by another flow (sy_ct6_holds)
 * is not taken over: SY_CT_TAKEN, nothing written - the SNAT port loop tries another port, a
 * plain DNAT counts SY_CNT_CT_COLLISION and drops, as for IPv4. 0, SY_CT_TAKEN or -1. Global:
 * verified once, not per caller.
 */
__attribute__((noinline)) int sy_ct6_create(const struct sy_ct6_key *fwd_key,
					    const struct sy_ct6_entry *fwd)
{
	struct sy_ct6_entry e;
	struct sy_ct6_entry *held;
	struct sy_ct6_key rkey;
	__u64 now;

	if (!fwd_key || !fwd)
		return -1;
	e = *fwd;
	now = e.last_seen_ns;
	sy_ct6_peer_of(&rkey, &e.nat, fwd_key, &fwd->nat);
	sy_ct_reply_src_mark6(rkey.saddr);	/* before the reply entry: bpf/ct.h */
	if (bpf_map_update_elem(&ct_new6, &rkey, &e, BPF_NOEXIST)) {
		held = bpf_map_lookup_elem(&ct_new6, &rkey);
		if (held && sy_ct6_holds(held, rkey.proto, fwd, now))
			return SY_CT_TAKEN;
		if (bpf_map_update_elem(&ct_new6, &rkey, &e, BPF_ANY))
			return -1;
	}
	held = bpf_map_lookup_elem(&conntrack6, &rkey);
	if (held && sy_ct6_holds(held, rkey.proto, fwd, now)) {
		bpf_map_delete_elem(&ct_new6, &rkey);
		return SY_CT_TAKEN;
	}
	bpf_map_delete_elem(&conntrack6, &rkey);
	bpf_map_delete_elem(&conntrack6, fwd_key);	/* a dead earlier flow's, found first */
	return bpf_map_update_elem(&ct_new6, fwd_key, fwd, BPF_ANY) ? -1 : 0;
}

/* The first reply of a flow in ct_new6, keyed @rkey: both entries move to conntrack6. Global,
 * like the other calls of the v6 flow, to keep each stack frame small. */
__attribute__((noinline)) int sy_ct6_promote(const struct sy_ct6_key *rkey, __u64 now)
{
	struct sy_ct6_entry *reply;
	struct sy_ct6_entry e;
	struct sy_ct6_key fkey;

	if (!rkey)
		return 0;
	reply = bpf_map_lookup_elem(&ct_new6, rkey);
	if (!reply)
		return 0;
	e = *reply;

	sy_ct6_peer_of(&fkey, NULL, rkey, &e.nat);
	e.last_seen_ns = now;
	e.flags |= SY_CT_SEEN_REPLY;
	bpf_map_update_elem(&conntrack6, rkey, &e, BPF_ANY);
	bpf_map_delete_elem(&ct_new6, rkey);
	reply = bpf_map_lookup_elem(&ct_new6, &fkey);
	if (!reply)
		return 0;
	e = *reply;
	e.last_seen_ns = now;
	e.flags |= SY_CT_SEEN_REPLY;
	bpf_map_update_elem(&conntrack6, &fkey, &e, BPF_ANY);
	bpf_map_delete_elem(&ct_new6, &fkey);
	return 0;
}

/*
 * The reply steps of the IPv6 flow, shared by sy_handle6 and to_pod6 (sy_handle6_to_pod). First,
 * the sender as a backend (or the node) answering a flow answered before: its fresh reply entry in
 * conntrack6, or NULL. @key comes in as the packet's own key and leaves as the reply key. The
 * clock is read into @now only once an entry is found (on a VM a clock read costs a lookup's time).
 */
static __always_inline struct sy_ct6_entry *sy_ct6_replied(struct sy_ct6_key *key, __u8 proto,
							   __u64 *now)
{
	struct sy_ct6_entry *ct;

	key->dir = SY_CT_REPLY;
	ct = bpf_map_lookup_elem(&conntrack6, key);
	if (!ct)
		return NULL;
	*now = bpf_ktime_get_ns();
	return sy_ct6_fresh(ct, proto, *now) ? ct : NULL;
}

/* Of a TCP flow not answered yet only a SYN (the client's, again), the SYN-ACK or an RST can
 * come: any other TCP packet skips ct_new6 (sy_handle says why). */
static __always_inline bool sy_ct6_may_be_unreplied(const struct sy_pkt6 *pkt)
{
	return pkt->proto != IPPROTO_TCP || (pkt->tcp_flags & (SY_TCP_SYN | SY_TCP_RST));
}

/*
 * Then the flow's first answer (a SYN-ACK, an RST, a UDP reply): its reply entry in ct_new6 moves
 * both entries to conntrack6 (sy_ct6_promote), and the entry returned is the packet's first hit
 * there; NULL when no flow waits for this answer. The race: a retransmitted answer on another CPU
 * may promote first, and ours then moves nothing - the second lookup finds what it moved.
 */
static __always_inline struct sy_ct6_entry *sy_ct6_first_answer(struct sy_ct6_key *key,
								__u8 proto, __u64 now)
{
	struct sy_ct6_entry *ct;

	key->dir = SY_CT_REPLY;
	ct = bpf_map_lookup_elem(&ct_new6, key);
	if (!ct || !sy_ct6_fresh(ct, proto, now))
		return NULL;
	sy_ct6_promote(key, now);
	return bpf_map_lookup_elem(&conntrack6, key);
}

/* Stamps a hit; new state bits go into the other direction's entry too (a lost race sets them
 * again on the next packet, as in sy_ct_touch). */
static __always_inline void sy_ct6_touch(struct sy_ct6_entry *ct, const struct sy_ct6_key *key,
					 __u8 flags, __u64 now)
{
	struct sy_ct6_entry *peer;
	struct sy_ct6_key pkey;

	ct->last_seen_ns = now;
	if ((ct->flags & flags) == flags)
		return;
	ct->flags |= flags;
	sy_ct6_peer_of(&pkey, NULL, key, &ct->nat);
	peer = sy_ct6_find(&pkey);
	if (peer)
		peer->flags |= flags;
}

#endif /* SY_CT6_H */
