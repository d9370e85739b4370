// Running libbpf calls inside a network namespace: setns(2) the calling (main) thread, run a
// synchronous function, always switch back. FFI calls are synchronous on this thread, so interface
// lookups and attaches inside `fn` see the namespace; anything async (libuv's thread pool) does not.
import { closeSync, openSync } from 'node:fs';
import * as ffi from './ffi.js';

const CLONE_NEWNET = 0x40000000;

export function inNetns<T>(nsName: string, fn: () => T): T {
  if (!nsName || nsName.includes('/')) throw new Error(`inNetns: bad network namespace name '${nsName}'`);
  const target = `/var/run/netns/${nsName}`;
  let nsFd: number;
  try {
    nsFd = openSync(target, 'r');
  } catch (err) {
    throw new Error(
      `inNetns: network namespace '${nsName}' not found (${target}): ${(err as NodeJS.ErrnoException).code}`,
    );
  }
  let selfFd = -1;
  try {
    selfFd = openSync('/proc/thread-self/ns/net', 'r');
    const r = ffi.setns(nsFd, CLONE_NEWNET);
    if (r < 0) throw new Error(`inNetns: setns(${target}) failed: errno ${-r}`);
  } catch (err) {
    closeSync(nsFd);
    if (selfFd >= 0) closeSync(selfFd);
    throw err;
  }
  try {
    const result = fn();
    if (result && typeof (result as { then?: unknown }).then === 'function') {
      throw new Error('inNetns: fn must be synchronous (it returned a promise; the namespace is left when fn returns)');
    }
    return result;
  } finally {
    const r = ffi.setns(selfFd, CLONE_NEWNET);
    closeSync(nsFd);
    closeSync(selfFd);
    // Staying in the wrong namespace would silently misdirect every later call: fail loudly,
    // even over fn's own error.
    // biome-ignore lint/correctness/noUnsafeFinally: a failed return to our namespace outranks any error fn threw
    if (r < 0) throw new Error(`inNetns: could not return from '${nsName}' to the original namespace: errno ${-r}`);
  }
}
