/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The maps every Switchyard program shares. The loader pins them explicitly under
 * --pin-dir (no LIBBPF_PIN_BY_NAME here) and reuses the pinned ones on restart, so
 * their names, types and sizes are part of the contract with src/bpf.
 */
#ifndef SY_MAPS_H
#define SY_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "switchyard.h"

/* Service addresses as clients see them. Written by the control plane only. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct sy_frontend_key);
	__type(value, struct sy_frontend);
	__uint(max_entries, SY_MAX_FRONTENDS);
} frontends SEC(".maps");

/* Backend sets: {set_id, slot, gen} → backend_id. Two generations per set make a
 * backend-set change one frontend write (see docs/architecture.md, "Hitless updates"). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct sy_slot_key);
	__type(value, __u32);
	__uint(max_entries, SY_MAX_SLOTS);
} slots SEC(".maps");

/* Maglev lookup tables (bpf/maglev.h): {set_id, slot = index + 1, gen} → backend_id, the same
 * key and generation flip as slots. Apart from slots so a table of 16381+ entries per set does not
 * eat the slots' capacity; not preallocated, so the unused capacity costs no memory. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct sy_slot_key);
	__type(value, __u32);
	__uint(max_entries, SY_MAX_MAGLEV);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} maglev SEC(".maps");

/* backend_id → address and port. A missing ID means the backend left its service. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, struct sy_backend);
	__uint(max_entries, SY_MAX_BACKENDS);
} backends SEC(".maps");

/* Translated flows that have seen a reply, one entry per direction. Written by the data path
 * only; LRU so a full table evicts the idlest flows instead of refusing new ones. New flows
 * cannot evict them: those start in ct_new (bpf/ct.h). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct sy_ct_key);
	__type(value, struct sy_ct_entry);
	__uint(max_entries, SY_MAX_CONNTRACK);
} conntrack SEC(".maps");

/* Translated flows not replied to yet, both directions, until the first reply moves them to
 * conntrack (sy_ct_promote). A flood of unanswered flows evicts only its own kind here. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct sy_ct_key);
	__type(value, struct sy_ct_entry);
	__uint(max_entries, SY_MAX_CT_NEW);
} ct_new SEC(".maps");

/* Which addresses may send a reply of a flow translated here: a slot per hash of the address,
 * non-zero once any flow's reply entry named it as source (bpf/ct.h, sy_ct_may_reply). Written
 * by the data path, and by the agent only to fill it when it finds conntrack pinned without it. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, SY_CT_REPLY_SRC_SLOTS);
} ct_reply_src SEC(".maps");

/* ClientIP session affinity: {set_id, client} → last backend. Data path only. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct sy_affinity_key);
	__type(value, struct sy_affinity);
	__uint(max_entries, SY_MAX_AFFINITY);
} affinity SEC(".maps");

/* Per-CPU counters indexed by svc_id; the reader sums the CPUs. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct sy_stats);
	__uint(max_entries, SY_MAX_SERVICES);
} stats SEC(".maps");

/* The counters of @svc_id, or NULL when it is out of range. */
static __always_inline struct sy_stats *sy_stats_of(__u32 svc_id)
{
	if (svc_id >= SY_MAX_SERVICES)
		return NULL;
	return bpf_map_lookup_elem(&stats, &svc_id);
}

/* A flow refused or dropped for want of a backend (tc and socket paths alike). */
static __always_inline void sy_count_no_backend(__u32 svc_id)
{
	struct sy_stats *st = sy_stats_of(svc_id);

	if (st)
		st->no_backend++;
}

/* Node settings (struct sy_config at index 0). Written by the agent only. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct sy_config);
	__uint(max_entries, 1);
} config SEC(".maps");

static __always_inline const struct sy_config *sy_config_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&config, &zero);
}

/* loadBalancerSourceRanges per svc_id (see struct sy_source_range_key). Agent only. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct sy_source_range_key);
	__type(value, __u8);
	__uint(max_entries, SY_MAX_SOURCE_RANGES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} source_ranges SEC(".maps");

/* Per-CPU event counters, by SY_CNT_*; the reader sums the CPUs. Data path only. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, SY_CNT_MAX);
} counters SEC(".maps");

static __always_inline void sy_counter_inc(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &idx);

	if (c)
		(*c)++;
}

/* svc_id → service name and type, for `switchyard inspect` only (see switchyard.h). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, struct sy_service_info);
	__uint(max_entries, SY_MAX_SERVICES);
} service_info SEC(".maps");

/* Ports of fragmented datagrams of translated flows, by first fragment (bpf/frag.h). Data path. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct sy_frag_key);
	__type(value, struct sy_frag);
	__uint(max_entries, SY_MAX_FRAGS);
} frags SEC(".maps");

/*
 * The IPv6 maps: the v4 map of the same name with a 6, the same capacity, type and writer. Backend
 * ids are shared with backends (one id space), so slots and maglev serve both families.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct sy_frontend6_key);
	__type(value, struct sy_frontend);
	__uint(max_entries, SY_MAX_FRONTENDS);
} frontends6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, struct sy_backend6);
	__uint(max_entries, SY_MAX_BACKENDS);
} backends6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct sy_ct6_key);
	__type(value, struct sy_ct6_entry);
	__uint(max_entries, SY_MAX_CONNTRACK);
} conntrack6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct sy_ct6_key);
	__type(value, struct sy_ct6_entry);
	__uint(max_entries, SY_MAX_CT_NEW);
} ct_new6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct sy_affinity6_key);
	__type(value, struct sy_affinity);
	__uint(max_entries, SY_MAX_AFFINITY);
} affinity6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct sy_config6);
	__uint(max_entries, 1);
} config6 SEC(".maps");

static __always_inline const struct sy_config6 *sy_config6_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&config6, &zero);
}

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct sy_source_range6_key);
	__type(value, __u8);
	__uint(max_entries, SY_MAX_SOURCE_RANGES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} source_ranges6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct sy_frag6_key);
	__type(value, struct sy_frag);
	__uint(max_entries, SY_MAX_FRAGS);
} frags6 SEC(".maps");

#endif /* SY_MAPS_H */
