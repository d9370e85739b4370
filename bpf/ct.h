/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Conntrack: one self-contained entry per direction of a translated flow. Each entry's
 * `nat` is the rewrite for packets matching its key, so either direction is one lookup.
 * The two entries of a flow name each other implicitly: the peer's key is the packet as
 * rewritten, turned around (sy_ct_peer_key), and the peer is only looked up when state
 * changes or a lifetime ran out — a handful of times per flow, not per packet.
 *
 * Two tables, so that a flood cannot push out the flows that matter. A new flow's two entries go
 * into ct_new; the first packet of its reply direction moves both to conntrack (sy_ct_promote).
 * An LRU evicts by recency alone: in one table, 300,000 new unanswered flows (spoofed sources, a
 * scan) evicted an idle keep-alive connection. Split, a flood only evicts other unanswered flows,
 * those netfilter's early_drop() picks too (not IPS_ASSURED). An unanswered flow needs its entries
 * for a round trip, so ct_new is smaller; one never answered (one-way UDP) stays there, and under
 * a flood is lost like any unanswered flow: its next packet starts it again.
 *
 * Lookups: conntrack first (forward, then reply), so an established packet costs what it did with
 * one table. Claims of a key (BPF_NOEXIST: reply keys, SNAT ports) see both tables; the claim vs
 * promotion race is at sy_ct_insert(). SY_CNT_CT_NEW_ADDED/_REMOVED count ct_new entries the data
 * path added and removed: the reader tells from them how many the LRU evicted.
 */
#ifndef SY_CT_H
#define SY_CT_H

#include "clock.h"
#include "maps.h"
#include "parse.h"

/* sy_ct_create() with BPF_NOEXIST: the reply key is someone else's (see bpf/snat.h). */
#define SY_CT_TAKEN  1

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

/* The entry under @key in either table: conntrack (replied flows) first, then ct_new. */
static __always_inline struct sy_ct_entry *sy_ct_find(const struct sy_ct_key *key)
{
	struct sy_ct_entry *ct = bpf_map_lookup_elem(&conntrack, key);

	return ct ? ct : bpf_map_lookup_elem(&ct_new, key);
}

/*
 * The reply-source filter (ct_reply_src). Most packets a node forwards are not Service traffic
 * (pod to pod, above all with socket LB, where a pod's socket already talks to the backend), and
 * each one used to pay a conntrack lookup as a possible reply: a miss in a large table, one
 * cache miss, most of from_pod's time. A reply entry's source is always the flow's backend (or
 * the client it was translated to), so a packet from an address no reply entry ever named cannot
 * be a reply: one slot of a small array, hot in the cache, answers that.
 *
 * The filter only ever grows. A slot is set before the flow's reply entry is written
 * (sy_ct_insert), so a reply, which comes after the forward packet left, finds it set; slots
 * are never cleared, as a flow may live for hours and an address shares its slot with others
 * (a collision costs one lookup, never a missed reply). A restarted agent keeps the pinned map;
 * one that finds conntrack pinned without it fills every slot (src/dataplane/maps.ts).
 */
static __always_inline __u32 *sy_ct_reply_src_slot(__be32 addr)
{
	__u32 a = bpf_ntohl(addr);
	__u32 slot = (a ^ (a >> 12)) & (SY_CT_REPLY_SRC_SLOTS - 1);

	return bpf_map_lookup_elem(&ct_reply_src, &slot);
}

/* Whether a packet from @saddr may be a reply of a flow translated here. */
static __always_inline bool sy_ct_may_reply(__be32 saddr)
{
	__u32 *seen = sy_ct_reply_src_slot(saddr);

	return !seen || *seen;
}

/* Marks @saddr as a reply source: before its flow's reply entry is written. A slot already set
 * is only read, so a busy backend's slot stays shared in every CPU's cache. */
static __always_inline void sy_ct_reply_src_mark(__be32 saddr)
{
	__u32 *seen = sy_ct_reply_src_slot(saddr);

	if (seen && !*seen)
		*seen = 1;
}

/* The same filter for IPv6 sources (bpf/ct6.h): the address's four words folded into one, then
 * the IPv4 hash; both families share the slots. */
static __always_inline __u32 *sy_ct_reply_src_slot6(const __be32 *addr)
{
	return sy_ct_reply_src_slot(addr[0] ^ addr[1] ^ addr[2] ^ addr[3]);
}

static __always_inline bool sy_ct_may_reply6(const __be32 *saddr)
{
	__u32 *seen = sy_ct_reply_src_slot6(saddr);

	return !seen || *seen;
}

static __always_inline void sy_ct_reply_src_mark6(const __be32 *saddr)
{
	__u32 *seen = sy_ct_reply_src_slot6(saddr);

	if (seen && !*seen)
		*seen = 1;
}

/* Deletes @key from ct_new, counting it if it was there. */
static __always_inline void sy_ct_new_delete(const struct sy_ct_key *key)
{
	if (!bpf_map_delete_elem(&ct_new, key))
		sy_counter_inc(SY_CNT_CT_NEW_REMOVED);
}

/* Writes @e under @key in ct_new, counting a new key (hence BPF_NOEXIST first); @noexist refuses
 * an existing one (SY_CT_TAKEN). */
static __always_inline int sy_ct_new_put(const struct sy_ct_key *key, const struct sy_ct_entry *e,
					 bool noexist)
{
	long ret = bpf_map_update_elem(&ct_new, key, e, BPF_NOEXIST);

	if (!ret)
		sy_counter_inc(SY_CNT_CT_NEW_ADDED);
	else if (ret != -17 /* EEXIST */)
		return -1;
	else if (noexist)
		return SY_CT_TAKEN;
	else if (bpf_map_update_elem(&ct_new, key, e, BPF_ANY))
		return -1;
	return 0;
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
static __always_inline struct sy_ct_entry *sy_ct_peer(const struct sy_ct_key *key,
						      const struct sy_nat *nat)
{
	struct sy_ct_key peer, back;
	struct sy_ct_entry *p;
	struct sy_nat peer_nat;

	sy_ct_peer_key(&peer, key, nat);
	p = sy_ct_find(&peer);
	if (!p)
		return NULL;
	peer_nat = p->nat;
	sy_ct_peer_key(&back, &peer, &peer_nat);
	if (back.saddr != key->saddr || back.daddr != key->daddr ||
	    back.sport != key->sport || back.dport != key->dport)
		return NULL;
	return p;
}

/*
 * Whether the peer of the entry keyed @key (rewriting by @nat) is this flow's and fresh. A global
 * function (see sy_within in clock.h): it is reached from many places, the SNAT port loop among
 * them, and its two-table lookup inlined everywhere passes the verifier's instruction limit. Only
 * entries past their own lifetime get here: an established packet never pays the call.
 */
__attribute__((noinline)) int sy_ct_peer_fresh(const struct sy_ct_key *key,
					       const struct sy_nat *nat, __u64 now)
{
	struct sy_ct_entry *p;

	if (!key || !nat)
		return 0;
	p = sy_ct_peer(key, nat);
	return p && sy_ct_fresh(p, key->proto, now);
}

/* An entry is live while it, or its peer, has seen traffic within its lifetime. */
static __always_inline bool sy_ct_live(const struct sy_ct_entry *ct, const struct sy_ct_key *key,
				       __u64 now)
{
	struct sy_nat nat = ct->nat;

	if (sy_ct_fresh(ct, key->proto, now))
		return true;
	return sy_ct_peer_fresh(key, &nat, now);
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

/* The reply entry of the flow whose forward entry @fwd sits under @fwd_key: each field the
 * forward rewrite replaced is restored on the way back (frontend address and port as source; the
 * client as destination when its source was rewritten). Its key goes to @reply_key. */
static __always_inline void sy_ct_reply_of(struct sy_ct_key *reply_key, struct sy_ct_entry *reply,
					   const struct sy_ct_key *fwd_key,
					   const struct sy_ct_entry *fwd)
{
	*reply = *fwd;
	sy_ct_peer_key(reply_key, fwd_key, &fwd->nat);
	reply->nat.saddr = fwd->nat.daddr ? fwd_key->daddr : 0;
	reply->nat.daddr = fwd->nat.saddr ? fwd_key->saddr : 0;
	reply->nat.sport = fwd->nat.dport ? fwd_key->dport : 0;
	reply->nat.dport = fwd->nat.sport ? fwd_key->sport : 0;
}

/*
 * Records a new flow in ct_new: the forward entry @fwd under @fwd_key and the reply entry that
 * undoes it (sy_ct_reply_of). The reply entry goes first so a reply can never beat it.
 *
 * @reply_update is BPF_NOEXIST when the reply key must be new (a reply key or an SNAT port being
 * claimed): then SY_CT_TAKEN says it is held, in either table, and nothing is left written. With
 * BPF_ANY the caller has judged the holder gone (sy_ct_claim), and a conntrack entry under the
 * reply key is removed. Also removed: a conntrack forward entry under @fwd_key, an earlier flow's
 * that sy_handle found dead or unusable; left there, it would be found before this flow's entry.
 *
 * THE RACE: a claim here against a promotion (sy_ct_promote) of the flow that holds the reply
 * key R in ct_new. The promoting CPU writes conntrack[R], then deletes ct_new[R]; this one
 * inserts ct_new[R] with BPF_NOEXIST, then looks conntrack[R] up. If the insert succeeded, the
 * delete came before it, so the write came before the lookup: the lookup sees conntrack[R], and
 * this claim backs out (deleting its own ct_new[R]) and returns SY_CT_TAKEN. Had the lookup come
 * first, with the other flow still in ct_new, the insert would have failed instead. Either way
 * two live flows never hold R at once - the order of these two steps (insert, then look) and of
 * the promotion's (write, then delete) is what makes it so; do not swap either. The loser drops
 * its packet, and the client's retry picks a backend afresh. A flow promoted while this CPU was
 * between sy_ct_claim's liveness check and a BPF_ANY insert is overwritten, as there: it was
 * judged dead or this flow's own.
 *
 * Global (see sy_within, clock.h): the SNAT port loop calls it up to SY_SNAT_TRIES + 1 times,
 * and inlined its branches would multiply the verifier's states. 0, SY_CT_TAKEN, or -1.
 */
__attribute__((noinline)) int sy_ct_insert(const struct sy_ct_key *fwd_key,
					   const struct sy_ct_entry *fwd, __u64 reply_update)
{
	struct sy_ct_key reply_key;
	struct sy_ct_entry reply;
	int ret;

	if (!fwd_key || !fwd)
		return -1;
	sy_ct_reply_of(&reply_key, &reply, fwd_key, fwd);
	sy_ct_reply_src_mark(reply_key.saddr);
	ret = sy_ct_new_put(&reply_key, &reply, reply_update == BPF_NOEXIST);
	if (ret)
		return ret;
	if (reply_update != BPF_NOEXIST) {
		bpf_map_delete_elem(&conntrack, &reply_key);
	} else if (bpf_map_lookup_elem(&conntrack, &reply_key)) {
		sy_ct_new_delete(&reply_key);
		return SY_CT_TAKEN;
	}
	if (sy_ct_new_put(fwd_key, fwd, false))
		return -1;
	bpf_map_delete_elem(&conntrack, fwd_key);
	return 0;
}

/* sy_ct_insert() of a flow rewriting by @fwd_nat, with its entries' other fields. */
static __always_inline int sy_ct_create(const struct sy_ct_key *fwd_key,
					const struct sy_nat *fwd_nat, __u32 backend_id,
					__u32 svc_id, __u8 flags, __u64 now, __u64 reply_update)
{
	struct sy_ct_entry e;

	/* The value has tail padding an initializer may leave as stack garbage. */
	__builtin_memset(&e, 0, sizeof(e));
	e.last_seen_ns = now;
	e.nat = *fwd_nat;
	e.backend_id = backend_id;
	e.svc_id = svc_id;
	e.flags = flags;
	return sy_ct_insert(fwd_key, &e, reply_update);
}

/*
 * The first reply of a flow in ct_new, keyed @reply_key: both entries move to conntrack, marked
 * SY_CT_SEEN_REPLY and stamped @now, where no flood of new flows can evict them. The forward
 * entry is rebuilt from the reply entry (the inverse of sy_ct_reply_of), because the LRU may
 * have evicted it alone; its direction's FIN bit, if any, comes along when it is still there.
 *
 * Order (see THE RACE at sy_ct_insert): both conntrack writes before either ct_new delete. A
 * packet of the flow on another CPU meanwhile finds the flow in one table or the other, the
 * same entries. Two CPUs promoting the same flow at once write the same values. Returns 0 or -1.
 */
__attribute__((noinline)) int sy_ct_promote(const struct sy_ct_key *reply_key, __u64 now)
{
	struct sy_ct_entry fwd, *reply, *p;
	struct sy_ct_key fwd_key;

	if (!reply_key)
		return -1;
	/*
	 * Updated in place, not copied: this function's stack adds to sy_handle's, which is near
	 * the 512-byte limit. The entry is about to leave ct_new; a CPU promoting the same flow at
	 * once writes the same bits.
	 */
	reply = bpf_map_lookup_elem(&ct_new, reply_key);
	if (!reply)
		return -1;
	reply->flags |= SY_CT_SEEN_REPLY;
	reply->last_seen_ns = now;
	fwd = *reply;
	sy_ct_peer_key(&fwd_key, reply_key, &fwd.nat);
	fwd.nat.saddr = reply->nat.daddr ? reply_key->daddr : 0;
	fwd.nat.daddr = reply->nat.saddr ? reply_key->saddr : 0;
	fwd.nat.sport = reply->nat.dport ? reply_key->dport : 0;
	fwd.nat.dport = reply->nat.sport ? reply_key->sport : 0;
	p = bpf_map_lookup_elem(&ct_new, &fwd_key);
	if (p)
		fwd.flags |= p->flags;
	if (bpf_map_update_elem(&conntrack, &fwd_key, &fwd, BPF_ANY) ||
	    bpf_map_update_elem(&conntrack, reply_key, reply, BPF_ANY))
		return -1;
	sy_ct_new_delete(&fwd_key);
	sy_ct_new_delete(reply_key);
	return 0;
}

/*
 * The flags a packet of direction @dir with @tcp_flags adds to an entry holding @have: a reply
 * seen, a FIN from its side, and CLOSING on an RST or once both sides sent a FIN. One rule for
 * both families (sy_ct_hit, sy_ct6_hit).
 */
static __always_inline __u8 sy_ct_flags_seen(__u8 have, __u8 dir, __u8 tcp_flags)
{
	__u8 flags = 0;

	if (dir == SY_CT_REPLY)
		flags |= SY_CT_SEEN_REPLY;
	if (tcp_flags & SY_TCP_FIN)
		flags |= dir == SY_CT_FORWARD ? SY_CT_FIN_FORWARD : SY_CT_FIN_REPLY;
	if ((tcp_flags & SY_TCP_RST) ||
	    ((have | flags) & (SY_CT_FIN_FORWARD | SY_CT_FIN_REPLY)) ==
	    (SY_CT_FIN_FORWARD | SY_CT_FIN_REPLY))
		flags |= SY_CT_CLOSING;
	return flags;
}

/*
 * Whether @old, under @reply_key, is another flow's than the one keyed @fwd_key, and live.
 * A closing TCP flow (RST, or FIN both ways) holds nothing: it is the client's TIME_WAIT, and
 * the client may reuse its port towards another Service at once (the 4-tuple differs). Holding
 * the key for the closing lifetime dropped that new SYN and its retries: one connection in a few
 * hundred timed out in the e2e suites. netfilter likewise lets a SYN take over a TIME_WAIT tuple.
 */
static __always_inline bool sy_ct_held(const struct sy_ct_entry *old,
				       const struct sy_ct_key *reply_key,
				       const struct sy_ct_key *fwd_key, __u64 now)
{
	struct sy_nat old_nat = old->nat;
	struct sy_ct_key back;

	if (reply_key->proto == IPPROTO_TCP && (old->flags & SY_CT_CLOSING))
		return false;

	sy_ct_peer_key(&back, reply_key, &old_nat);
	return (back.saddr != fwd_key->saddr || back.daddr != fwd_key->daddr ||
		back.sport != fwd_key->sport || back.dport != fwd_key->dport) &&
	       sy_ct_live(old, reply_key, now);
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
 * The key may be held in either table (bpf/ct.h, top); both are checked.
 */
static __always_inline int sy_ct_claim(const struct sy_ct_key *fwd_key,
				       const struct sy_nat *fwd_nat, __u32 backend_id, __u32 svc_id,
				       __u8 flags, __u64 now)
{
	struct sy_ct_key reply_key;
	struct sy_ct_entry *old;

	sy_ct_peer_key(&reply_key, fwd_key, fwd_nat);
	old = bpf_map_lookup_elem(&conntrack, &reply_key);
	if (old && sy_ct_held(old, &reply_key, fwd_key, now))
		return SY_CT_TAKEN;
	old = bpf_map_lookup_elem(&ct_new, &reply_key);
	if (old && sy_ct_held(old, &reply_key, fwd_key, now))
		return SY_CT_TAKEN;
	return sy_ct_create(fwd_key, fwd_nat, backend_id, svc_id, flags, now, BPF_ANY);
}

#endif /* SY_CT_H */
