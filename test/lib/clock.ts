// The kernel's clock as tests see it. bpf_ktime_get_ns() is CLOCK_MONOTONIC, which starts near
// zero at boot, so a test that back-dates an entry ("stamped 70 s ago") cannot do so on a
// machine up for less than 70 s: the stamp would be negative. ago() says so instead, and the
// test skips that one step with the reason printed.
//
// SY_TEST_UPTIME_S caps the uptime the tests believe, to run them as on a fresh machine:
//   SY_TEST_UPTIME_S=30 npx vitest run --project kernel test/kernel/datapath-*
// The stamps stay on the kernel's real timeline; only the "has it been up long enough?"
// answer changes.
import { monotonicNs } from '../../src/bpf/index.js';

export const NS_PER_S = 1_000_000_000n;

/** The uptime the tests may assume, in ns: the real one, capped by SY_TEST_UPTIME_S. */
export function uptimeNs(now = monotonicNs()): bigint {
  const cap = process.env.SY_TEST_UPTIME_S;
  return cap === undefined ? now : now < BigInt(cap) * NS_PER_S ? now : BigInt(cap) * NS_PER_S;
}

/**
 * A kernel timestamp `age` ns before now, or undefined when the machine has not been up that
 * long (the caller skips the step: see skipStep).
 */
export function ago(age: bigint): bigint | undefined {
  const now = monotonicNs();
  return uptimeNs(now) > age ? now - age : undefined;
}

/** Says why a test left out a step that needs a longer uptime. */
export function skipStep(what: string, age: bigint): void {
  console.warn(
    `skipped step "${what}": needs ${age / NS_PER_S} s of uptime, the machine has ${uptimeNs() / NS_PER_S} s`,
  );
}

export { monotonicNs };
