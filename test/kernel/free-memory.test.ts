// returnFreedMemory (src/bpf/memory.ts), which the agent calls after full syncs and now and then
// after partial ones: memory the process freed goes back to the kernel instead of staying in
// malloc's arenas. Here in the forked pool: ffi-rs is only used on a main thread (a worker thread
// that loaded it crashed at exit).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { expect, it } from 'vitest';
import { returnFreedMemory, syncMemoryReturner } from '../../src/bpf/index.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Allocates and frees ~80 MB in 4,000-byte buffers, which come from malloc's arenas (a large one
 *  would be an mmap of its own, which free() unmaps at once), as the many small allocations of a
 *  sync do. */
async function freeSomeMemory(): Promise<void> {
  let buffers: Buffer[] | undefined = Array.from({ length: 20_000 }, () => Buffer.allocUnsafeSlow(4000).fill(1));
  expect(buffers.length).toBe(20_000);
  buffers = undefined;
  gc();
  await new Promise((resolve) => setTimeout(resolve, 50)); // backing stores are freed after the GC
  gc();
}

it('gives the pages of ~80 MB of freed buffers back: the RSS falls by most of it', async () => {
  await freeSomeMemory();
  const before = process.memoryUsage.rss();
  const released = returnFreedMemory();
  expect(released).toBeGreaterThan(40 * 2 ** 20);
  expect(before - process.memoryUsage.rss()).toBeGreaterThan(40 * 2 ** 20);
});

it('after syncs: always after a full one, after a partial one at most once per period', async () => {
  const giveBack = syncMemoryReturner(60_000);
  await freeSomeMemory();
  expect(giveBack(false)).toBeGreaterThan(40 * 2 ** 20); // the first partial sync: nothing to wait for
  await freeSomeMemory();
  expect(giveBack(false)).toBe(0); // within the period: left to malloc
  expect(giveBack(true)).toBeGreaterThan(40 * 2 ** 20); // a full sync: given back at once
});
