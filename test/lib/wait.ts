// Polling instead of sleeping: tests wait for a condition, not for a guess of how long it takes.

export interface WaitOptions {
  /** Poll period; default 10 ms. */
  intervalMs?: number;
  /** Named in the timeout error. */
  what?: string;
}

/**
 * Resolves with fn's first truthy result (fn may be async); rejects after timeoutMs with the last
 * falsy value or error, so a failing test says what it was waiting for.
 */
export async function waitFor<T>(
  fn: () => T | Promise<T>,
  timeoutMs = 5000,
  opts: WaitOptions = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  const every = opts.intervalMs ?? 10;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
      last = v;
    } catch (e) {
      last = e;
    }
    if (Date.now() >= deadline) {
      const detail = last instanceof Error ? last.message : JSON.stringify(last);
      throw new Error(`waitFor ${opts.what ?? fn.toString().slice(0, 120)}: timed out after ${timeoutMs} ms (last: ${detail})`);
    }
    await new Promise((r) => setTimeout(r, every));
  }
}

/** Measures how long an async step takes, in ms. */
export async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const v = await fn();
  return [v, Math.round(performance.now() - t0)];
}
