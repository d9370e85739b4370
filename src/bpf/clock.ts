// The data path's clock, read from TypeScript: map entries carry bpf_ktime_get_ns() stamps
// (conntrack last_seen_ns, affinity last_used_ns), and ages are computed against this.

/** CLOCK_MONOTONIC now, in ns: the clock of bpf_ktime_get_ns (libuv's hrtime reads it too). */
export function monotonicNs(): bigint {
  return process.hrtime.bigint();
}
