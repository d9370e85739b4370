/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * IPv6 backend selection, as lb.h's for IPv4: affinity6 and backends6, with the slots and Maglev
 * tables both families share. The tc path (sy_select_backend6, handle6.h) and the socket path
 * (bpf/sock.c) both choose here, so an IPv6 Service behaves alike whichever serves it.
 */
#ifndef SY_LB6_H
#define SY_LB6_H

#include "flow6.h"
#include "lb.h"

/* The client's address folded to 32 bits, for the Maglev flow hash. */
static __always_inline __u32 sy_in6_fold(const __be32 *a)
{
	return a[0] ^ a[1] ^ a[2] ^ a[3];
}

/*
 * Chooses a backend of @fe (count > 0) for a new flow from @client: affinity6 first, else a
 * random slot or, for SY_FE_MAGLEV, the Maglev entry @hash falls on. 0, or -1 when the slot or
 * backend is missing (a short race with the control plane, as in sy_select_backend_for).
 */
static __always_inline int sy_select_backend6_for(const struct sy_frontend *fe,
						  const __be32 *client, __u32 hash, __u64 now,
						  __u32 *backend_id, struct sy_backend6 *be)
{
	__u64 timeout_ns = (__u64)fe->affinity_timeout * SY_NSEC_PER_SEC;
	struct sy_affinity aff_new = { .last_used_ns = now };
	struct sy_affinity6_key akey = {};
	struct sy_slot_key skey = {};
	struct sy_affinity *aff = NULL;
	struct sy_backend6 *b;
	__u32 *id;

	akey.set_id = fe->set_id;
	skey.set_id = fe->set_id;
	skey.gen = fe->gen;
	sy_in6_copy(akey.client_addr, client);
	if (fe->affinity_timeout)
		aff = bpf_map_lookup_elem(&affinity6, &akey);
	if (aff && sy_within(aff->last_used_ns, now, timeout_ns)) {
		*backend_id = aff->backend_id;
		b = bpf_map_lookup_elem(&backends6, backend_id);
		if (b) {
			aff->last_used_ns = now;
			*be = *b;
			return 0;
		}
	}
	if (fe->flags & SY_FE_MAGLEV) {
		*backend_id = sy_maglev_pick(fe->set_id, fe->gen, fe->count, hash);
		if (!*backend_id)
			return -1;
	} else {
		skey.slot = 1 + bpf_get_prandom_u32() % fe->count;
		id = bpf_map_lookup_elem(&slots, &skey);
		if (!id)
			return -1;
		*backend_id = *id;
	}
	b = bpf_map_lookup_elem(&backends6, backend_id);
	if (!b)
		return -1;
	*be = *b;
	if (fe->affinity_timeout) {
		aff_new.backend_id = *backend_id;
		bpf_map_update_elem(&affinity6, &akey, &aff_new, BPF_ANY);
	}
	return 0;
}

#endif /* SY_LB6_H */
