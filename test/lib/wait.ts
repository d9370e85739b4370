// Polling instead of sleeping: tests wait for a condition, not for a guess of how long it takes.
import { poll } from '../../src/util/poll.js';

export interface WaitOptions {
  /** Poll period; default 10 ms. */
  intervalMs?: number;
  /** Named in the timeout error. */
  what?: string;
}

/**
 * Resolves with fn's first truthy result (fn may be async); rejects after timeoutMs with the last
 * falsy value or error, so a failing test says what it was waiting for. The loop is src/util/poll.ts.
 */
export async function waitFor<T>(
  fn: () => T | Promise<T>,
  timeoutMs = 5000,
  opts: WaitOptions = {},
): Promise<NonNullable<T>> {
  const outcome = await poll(fn, timeoutMs, opts.intervalMs ?? 10);
  if (outcome.ok) return outcome.value;
  const { last } = outcome;
  const detail = last instanceof Error ? last.message : JSON.stringify(last);
  throw new Error(
    `waitFor ${opts.what ?? fn.toString().slice(0, 120)}: timed out after ${timeoutMs} ms (last: ${detail})`,
  );
}

/** Measures how long an async step takes, in ms. */
export async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const v = await fn();
  return [v, Math.round(performance.now() - t0)];
}
