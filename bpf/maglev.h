/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Maglev consistent hashing (Eisenbud et al., NSDI 2016) on the data path side: the control plane
 * computes each set's lookup table (src/compile/maglev.ts) and writes it to the maglev map under
 * the generation no frontend reads; a new flow costs one hash and one lookup.
 *
 * The hash covers what every node sees alike for one flow: the client address and port, the
 * destination port and the protocol. Not the destination address: a NodePort flow moved by the
 * load balancer in front from node1's address to node2's keeps its backend. Flows to two addresses
 * of one Service from the same client port share a backend, which is harmless.
 */
#ifndef SY_MAGLEV_H
#define SY_MAGLEV_H

#include <linux/types.h>

#include "maps.h"

static __always_inline __u32 sy_mix32(__u32 h)
{
	/* murmur3's finalizer: every input bit reaches every output bit. */
	h ^= h >> 16;
	h *= 0x85ebca6b;
	h ^= h >> 13;
	h *= 0xc2b2ae35;
	h ^= h >> 16;
	return h;
}

/* The flow's hash: see the top of this file for what it covers and why. */
static __always_inline __u32 sy_flow_hash(__be32 saddr, __be16 sport, __be16 dport, __u8 proto)
{
	__u32 h = sy_mix32(saddr ^ 0x9e3779b9);

	h = sy_mix32(h ^ (((__u32)sport << 16) | dport));
	return sy_mix32(h ^ proto);
}

/*
 * The backend of entry @hash % @size of set @set_id's table, generation @gen; 0 when the entry is
 * missing (a race with the control plane, which writes the table before the frontend flips).
 * Global (noinline): the verifier checks it once, apart from from_netdev's long path.
 */
__attribute__((noinline)) __u32 sy_maglev_pick(__u32 set_id, __u32 gen, __u32 size, __u32 hash)
{
	struct sy_slot_key key = {};
	__u32 *id;

	if (size == 0)
		return 0;
	key.set_id = set_id;
	key.slot = 1 + hash % size;
	key.gen = gen;
	id = bpf_map_lookup_elem(&maglev, &key);
	return id ? *id : 0;
}

#endif /* SY_MAGLEV_H */
