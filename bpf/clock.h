/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Time in the data path: bpf_ktime_get_ns(), CLOCK_MONOTONIC, which starts near zero at boot.
 * Every "is this stamp recent?" question goes through sy_within(), so no caller subtracts a
 * stamp from a @now it may exceed:
 *
 *  - another CPU may have stamped a time a little after our @now (bpf_ktime_get_ns() is read
 *    before the map lookup): up to SY_CLOCK_SKEW_NS ahead counts as "just now";
 *  - a stamp further ahead cannot come from this boot's data path (a hand-written or corrupt
 *    entry): it counts as expired, so it can never hold a flow, a SNAT port or an affinity
 *    until the clock catches up;
 *  - right after boot @now is small, and a stamp of 0 is simply @now old.
 */
#ifndef SY_CLOCK_H
#define SY_CLOCK_H

#include <stdbool.h>
#include <linux/types.h>

#include "switchyard.h"

#define SY_NSEC_PER_SEC   1000000000ULL
#define SY_CLOCK_SKEW_NS  (1ULL * SY_NSEC_PER_SEC)

/*
 * Whether @stamp, an earlier bpf_ktime_get_ns(), lies less than @window before @now.
 *
 * A global (noinline, not static) function: the verifier checks it once, on its own, and its
 * callers see only "some int". Inlined, its extra branch doubles the states the verifier walks
 * through everything after it, and from_netdev's 64-probe SNAT loop then passes the
 * one-million-instruction limit.
 */
__attribute__((noinline)) int sy_within(__u64 stamp, __u64 now, __u64 window)
{
	if (stamp > now)
		return stamp - now <= SY_CLOCK_SKEW_NS;
	return now - stamp < window;
}

#endif /* SY_CLOCK_H */
