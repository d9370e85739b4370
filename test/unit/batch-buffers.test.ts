// The batch buffers of a map (src/bpf/batch-buffers.ts): grown for the largest batch, and let go
// after one that grew them past what a partial sync needs, instead of held for the agent's life.
import { expect, it } from 'vitest';
import { BatchBuffers } from '../../src/bpf/batch-buffers.js';

it('lets go of buffers a full sync grew, and keeps the few dozen entries a partial sync needs', () => {
  const b = new BatchBuffers(16, 32); // a frontend-sized key and value
  b.room(8192, true); // a full sync's chunk
  expect([b.keys.length, b.vals.length]).toEqual([8192 * 16, 8192 * 32]);
  b.shrink();
  expect([b.keys.length, b.vals.length]).toEqual([0, 0]);

  b.room(23, true); // one endpoint change's writes
  const kept = b.keys;
  b.shrink();
  expect(b.keys).toBe(kept);
  expect([b.keys.length, b.vals.length]).toEqual([23 * 16, 23 * 32]);
  b.room(10, false); // a smaller batch reuses them
  expect(b.keys).toBe(kept);
});
