/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * SNAT for NodePort / external traffic to a backend on another node: the packet leaves with this
 * node's address and a source port chosen here, so the backend's reply comes back through this
 * node, where the reply entry undoes both translations.
 *
 * A port is claimed by inserting the flow's reply entry {backend, snat_addr, backend port, port}
 * with BPF_NOEXIST: the conntrack tables themselves are the allocation table (sy_ct_insert checks
 * both conntrack and ct_new), so two CPUs can never hand out the same port to the same backend,
 * and no other map has to be kept in step with them.
 * Random ports of the SNAT ranges (switchyard.h) are probed, SY_SNAT_TRIES of them, for one
 * nobody holds; a port whose flow is over (sy_snat_reusable) is only reclaimed when every probe
 * hit a taken one, which leaves ports idle as long as possible before reuse. With every probed
 * port in use the flow is dropped and counted (SY_CNT_SNAT_EXHAUSTED); the client's
 * retransmission tries again.
 */
#ifndef SY_SNAT_H
#define SY_SNAT_H

#include "maps.h"
#include "ct.h"

#define SY_SNAT_LOW_PORTS  (SY_SNAT_LOW_MAX - SY_SNAT_LOW_MIN + 1)
#define SY_SNAT_PORTS      (SY_SNAT_LOW_PORTS + SY_SNAT_HIGH_MAX - SY_SNAT_HIGH_MIN + 1)

/* A random port of the two SNAT ranges, in network order. */
static __always_inline __be16 sy_snat_random_port(void)
{
	__u32 r = bpf_get_prandom_u32() % SY_SNAT_PORTS;

	return bpf_htons(r < SY_SNAT_LOW_PORTS ? SY_SNAT_LOW_MIN + r :
			 SY_SNAT_HIGH_MIN + (r - SY_SNAT_LOW_PORTS));
}

/*
 * Whether the port of @old, the reply entry of an earlier SNAT flow keyed @key, may go to a new
 * flow: a TCP backend is past TIME_WAIT, and the flow is dead in both directions (sy_ct_live:
 * a one-way UDP stream only ever refreshes the forward entry).
 */
static __always_inline bool sy_snat_reusable(const struct sy_ct_entry *old,
					     const struct sy_ct_key *key, __u64 now)
{
	if (key->proto == IPPROTO_TCP &&
	    sy_within(old->last_seen_ns, now, SY_SNAT_TCP_REUSE_S * SY_NSEC_PER_SEC))
		return false;
	return !sy_ct_live(old, key, now);
}

/* This node's address for SNAT: the agent's choice, else the frontend address (a NodePort's
 * frontend address is a node address; an external IP's is not, so the agent must set one). */
static __always_inline __be32 sy_snat_addr(__be32 frontend_addr)
{
	const struct sy_config *cfg = sy_config_get();

	return cfg && cfg->snat_addr ? cfg->snat_addr : frontend_addr;
}

/* The same for IPv6, into @to: config6's snat_addr unless it is ::, else @frontend_addr. */
static __always_inline void sy_snat6_addr(__be32 *to, const __be32 *frontend_addr)
{
	const struct sy_config6 *cfg = sy_config6_get();
	const __be32 *a = frontend_addr;

	if (cfg && (cfg->snat_addr[0] | cfg->snat_addr[1] | cfg->snat_addr[2] | cfg->snat_addr[3]))
		a = cfg->snat_addr;
	to[0] = a[0];
	to[1] = a[1];
	to[2] = a[2];
	to[3] = a[3];
}

/*
 * Records a new flow whose forward rewrite @nat has saddr set: picks nat->sport and writes both
 * conntrack entries. Returns 0, -1 (map error), or SY_CT_TAKEN when no port could be had.
 */
static __always_inline int sy_snat_create(const struct sy_ct_key *fwd_key, struct sy_nat *nat,
					  __u32 backend_id, __u32 svc_id, __u8 flags, __u64 now)
{
	struct sy_ct_key reply_key;
	struct sy_ct_entry *old;
	__be16 reclaim = 0;
	int ret, i;

	for (i = 0; i < SY_SNAT_TRIES; i++) {
		nat->sport = sy_snat_random_port();
		ret = sy_ct_create(fwd_key, nat, backend_id, svc_id, flags, now, BPF_NOEXIST);
		if (ret != SY_CT_TAKEN)
			return ret;
		if (reclaim)
			continue;
		sy_ct_peer_key(&reply_key, fwd_key, nat);
		old = sy_ct_find(&reply_key);
		if (old && sy_snat_reusable(old, &reply_key, now))
			reclaim = nat->sport;
	}
	if (!reclaim)
		return SY_CT_TAKEN;

	/*
	 * A dead flow's entry, not evicted yet. Look again right before deleting: another CPU may
	 * have reclaimed it since. (A reclaim landing between this check and the delete would lose
	 * its entry; both CPUs would have to draw the same port within that window.)
	 */
	nat->sport = reclaim;
	sy_ct_peer_key(&reply_key, fwd_key, nat);
	old = sy_ct_find(&reply_key);
	if (old && !sy_snat_reusable(old, &reply_key, now))
		return SY_CT_TAKEN;
	bpf_map_delete_elem(&conntrack, &reply_key);
	sy_ct_new_delete(&reply_key);
	return sy_ct_create(fwd_key, nat, backend_id, svc_id, flags, now, BPF_NOEXIST);
}

#endif /* SY_SNAT_H */
