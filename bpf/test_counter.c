// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Test-only object for the typed libbpf layer (src/bpf/): a tc program that counts
 * packets and bytes, two XDP programs (one passes and counts, one swaps MACs and
 * bounces), and maps of the kinds the control plane handles (HASH, PERCPU_ARRAY,
 * a small HASH to fill up, an LPM trie without batch ops).
 *
 * The btf_* maps hold one entry each and are never touched: they exist so that every
 * struct of switchyard.h lands in this object's BTF, where test/kernel/btf-layouts.test.ts
 * checks the TypeScript codecs against it even before switchyard.o exists.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include "switchyard.h"

/* stats[0]: packets and bytes seen by count_tc (sy_stats layout: packets, bytes, ...). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, struct sy_stats);
} stats SEC(".maps");

/* totals[0]: packets seen by xdp_count; totals[1]: packets seen by count_tc. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} totals SEC(".maps");

/* Batch writes and reads. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u64);
} big SEC(".maps");

/* bench/ffi.ts: single vs batched writes of realistic keys and values, up to 100,000 entries. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 131072);
	__type(key, struct sy_frontend_key);
	__type(value, struct sy_frontend);
} bench SEC(".maps");

/* Fills up after 8 entries. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} small SEC(".maps");

/* No batch operations in the kernel: entries() falls back to get_next_key. */
struct lpm_v4_key {
	__u32 prefixlen;
	__be32 addr;
};
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 64);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lpm_v4_key);
	__type(value, __u32);
} lpm SEC(".maps");

#define BTF_MAP(name, k, v)                      \
	struct {                                 \
		__uint(type, BPF_MAP_TYPE_ARRAY); \
		__uint(max_entries, 1);          \
		__type(key, k);                  \
		__type(value, v);                \
	} name SEC(".maps")

/* Key types need a u32 key for ARRAY, so keys ride as values of their own map. */
BTF_MAP(btf_fe, __u32, struct sy_frontend);
BTF_MAP(btf_fe_key, __u32, struct sy_frontend_key);
BTF_MAP(btf_slot_key, __u32, struct sy_slot_key);
BTF_MAP(btf_backend, __u32, struct sy_backend);
BTF_MAP(btf_ct_key, __u32, struct sy_ct_key);
BTF_MAP(btf_ct_entry, __u32, struct sy_ct_entry);
BTF_MAP(btf_aff_key, __u32, struct sy_affinity_key);
BTF_MAP(btf_aff, __u32, struct sy_affinity);
BTF_MAP(btf_svc_info, __u32, struct sy_service_info);
BTF_MAP(btf_config, __u32, struct sy_config);
BTF_MAP(btf_src_range_key, __u32, struct sy_source_range_key);
BTF_MAP(btf_frag_key, __u32, struct sy_frag_key);
BTF_MAP(btf_frag, __u32, struct sy_frag);
BTF_MAP(btf_fe6_key, __u32, struct sy_frontend6_key);
BTF_MAP(btf_backend6, __u32, struct sy_backend6);
BTF_MAP(btf_ct6_key, __u32, struct sy_ct6_key);
BTF_MAP(btf_ct6_entry, __u32, struct sy_ct6_entry);
BTF_MAP(btf_aff6_key, __u32, struct sy_affinity6_key);
BTF_MAP(btf_config6, __u32, struct sy_config6);
BTF_MAP(btf_src_range6_key, __u32, struct sy_source_range6_key);
BTF_MAP(btf_frag6_key, __u32, struct sy_frag6_key);

/* Read-only config: libbpf's internal .rodata map, which is never pinned. */
const volatile int tc_verdict = TC_ACT_OK;

static __always_inline void bump_total(__u32 idx)
{
	__u64 *t = bpf_map_lookup_elem(&totals, &idx);

	if (t)
		__sync_fetch_and_add(t, 1);
}

SEC("tc")
int count_tc(struct __sk_buff *skb)
{
	__u32 zero = 0;
	struct sy_stats *s = bpf_map_lookup_elem(&stats, &zero);

	if (s) {
		s->packets += 1;
		s->bytes += skb->len;
	}
	bump_total(1);
	return tc_verdict;
}

SEC("xdp")
int xdp_count(struct xdp_md *ctx)
{
	bump_total(0);
	return XDP_PASS;
}

/* Swaps the Ethernet source and destination and sends the frame back out. */
SEC("xdp")
int xdp_swap(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	unsigned char tmp[ETH_ALEN];

	if ((void *)(eth + 1) > end)
		return XDP_DROP;
	__builtin_memcpy(tmp, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, tmp, ETH_ALEN);
	return XDP_TX;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
