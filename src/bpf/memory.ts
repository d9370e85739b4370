// Giving freed native memory back to the kernel. glibc's malloc keeps what the process freed in
// its arenas for reuse instead of returning it, and a full sync frees a lot at once: the lists'
// TLS and socket buffers, ffi-rs's argument copies for ~200,000 map writes. At 10,000 Services
// that was ~20 MiB of resident memory held for the agent's life (bench/scale.mjs, RssAnon).
// malloc_trim(0) returns every free page of every arena; it walks the arenas, a few ms.
import * as ffi from './ffi.js';

/** Hands the pages malloc holds free back to the kernel; returns the resident bytes released
 *  (0 when there was nothing to return, or on a C library without malloc_trim). */
export function returnFreedMemory(): number {
  const before = process.memoryUsage.rss();
  try {
    ffi.mallocTrim();
  } catch {
    return 0; // not glibc (musl has no malloc_trim): nothing to do
  }
  return Math.max(0, before - process.memoryUsage.rss());
}

/**
 * returnFreedMemory for every sync: after a full one always, after a partial one at most once per
 * @everyMs. A partial sync frees little, but a rolling update's run of them frees a steady stream
 * (the watch stream's read buffers, the FFI's argument copies): at 1,000 endpoint changes a second,
 * 0.4–2.4 MiB every 2 s, which malloc otherwise kept until the next full sync, a few MiB at the
 * highest RSS of the update (bench/scale.mjs). Each call takes 0–10 ms.
 */
export function syncMemoryReturner(everyMs: number): (full: boolean) => number {
  let last = -Infinity;
  return (full) => {
    const now = performance.now();
    if (!full && now - last < everyMs) return 0;
    last = now;
    return returnFreedMemory();
  };
}
