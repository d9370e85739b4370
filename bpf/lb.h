/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Backend selection for a new flow: ClientIP affinity first, else a random slot of the
 * frontend's active generation, or for SY_FE_MAGLEV frontends the entry of the set's Maglev
 * table the flow hashes to (bpf/maglev.h).
 */
#ifndef SY_LB_H
#define SY_LB_H

#include "clock.h"
#include "maps.h"
#include "ct.h"
#include "maglev.h"
#include "parse.h"

/*
 * The backend @client used last for this set, if that was within the affinity timeout
 * and the backend is still in its service; refreshes the entry when it is used.
 */
static __always_inline int sy_affinity_pick(const struct sy_frontend *fe,
					    const struct sy_affinity_key *akey, __u64 now,
					    __u32 *backend_id, struct sy_backend *be)
{
	__u64 timeout_ns = (__u64)fe->affinity_timeout * SY_NSEC_PER_SEC;
	struct sy_affinity *aff;
	struct sy_backend *b;
	__u32 id;

	aff = bpf_map_lookup_elem(&affinity, akey);
	if (!aff || !sy_within(aff->last_used_ns, now, timeout_ns))
		return -1;
	id = aff->backend_id;
	b = bpf_map_lookup_elem(&backends, &id);
	if (!b)
		return -1;
	aff->last_used_ns = now;
	*backend_id = id;
	*be = *b;
	return 0;
}

/*
 * Chooses a backend of @fe (count > 0) for a new flow from @client; @hash places the flow in a
 * Maglev table. Returns 0, or -1 when the slot or backend is missing: a race with the control
 * plane, which writes backends before slots and the frontend last, so it is short-lived. The tc
 * path (sy_select_backend) and the socket path (bpf/sock.c) both choose here, so a Service
 * behaves alike whichever serves it.
 */
static __always_inline int sy_select_backend_for(const struct sy_frontend *fe, __be32 client,
						 __u32 hash, __u64 now, __u32 *backend_id,
						 struct sy_backend *be)
{
	struct sy_affinity_key akey = { .set_id = fe->set_id, .client_addr = client };
	struct sy_slot_key skey;
	struct sy_backend *b;
	__u32 *id;

	if (fe->affinity_timeout && !sy_affinity_pick(fe, &akey, now, backend_id, be))
		return 0;

	if (fe->flags & SY_FE_MAGLEV) {
		*backend_id = sy_maglev_pick(fe->set_id, fe->gen, fe->count, hash);
		if (!*backend_id)
			return -1;
	} else {
		skey.set_id = fe->set_id;
		skey.slot = 1 + bpf_get_prandom_u32() % fe->count;
		skey.gen = fe->gen;
		skey.pad = 0;
		id = bpf_map_lookup_elem(&slots, &skey);
		if (!id)
			return -1;
		*backend_id = *id;
	}
	b = bpf_map_lookup_elem(&backends, backend_id);
	if (!b)
		return -1;
	*be = *b;

	if (fe->affinity_timeout) {
		struct sy_affinity aff = { .last_used_ns = now, .backend_id = *backend_id };

		bpf_map_update_elem(&affinity, &akey, &aff, BPF_ANY);
	}
	return 0;
}

/* The tc path's choice for @pkt: affinity by its source, Maglev by its flow hash. */
static __always_inline int sy_select_backend(const struct sy_frontend *fe, const struct sy_pkt *pkt,
					     __u64 now, __u32 *backend_id, struct sy_backend *be)
{
	return sy_select_backend_for(fe, pkt->saddr,
				     sy_flow_hash(pkt->saddr, pkt->sport, pkt->dport, pkt->proto),
				     now, backend_id, be);
}

#endif /* SY_LB_H */
