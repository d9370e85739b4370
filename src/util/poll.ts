// The one poll loop of the lab and the tests: wait for a condition to hold, not for a guess of
// how long it takes. Everything else that waits (the lab's agents and pods, the test harnesses'
// waitFor) calls this, so a timeout and a throwing check mean the same everywhere.

/** How a poll ended: the check's first truthy value, or the last falsy value or error seen. */
export type PollOutcome<T> = { ok: true; value: NonNullable<T> } | { ok: false; last: unknown };

/**
 * Calls `check` (which may be async) every `everyMs` until it returns a truthy value or
 * `timeoutMs` has passed; it runs at least once. A throw counts as "not yet": the condition may
 * depend on something still starting. The last falsy value or error is kept so that the caller
 * can say what it was waiting for.
 */
export async function poll<T>(check: () => T | Promise<T>, timeoutMs: number, everyMs = 100): Promise<PollOutcome<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return { ok: true, value: value as NonNullable<T> };
      last = value;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) return { ok: false, last };
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** `poll` for callers that need only whether the condition held in time. */
export async function pollUntil(check: () => unknown, timeoutMs: number, everyMs = 100): Promise<boolean> {
  return (await poll(check, timeoutMs, everyMs)).ok;
}
