// A slots phase's runs (src/dataplane/slot-runs.ts): the reader the reconciler hands to
// map.setEach must give the entries slotRunEntries lists, asked in order and from 0 again.
import { expect, it } from 'vitest';
import type { SlotKey } from '../../src/abi/index.js';
import { slotRunEntries, slotRunReader, type SlotRun } from '../../src/dataplane/slot-runs.js';

const RUNS: SlotRun[] = [
  { setId: 7, gen: 1, members: [11, 12, 13] },
  { setId: 9, gen: 0, members: [21] },
  { setId: 4, gen: 0, members: [31, 32] },
];
const line = ([k, v]: readonly [SlotKey, number]) => `set ${k.setId} gen ${k.gen} #${k.slot} → ${v}`;

it("lists each run's members in slots 1..n under its generation, run by run", () => {
  expect(slotRunEntries(RUNS).map(line)).toEqual([
    'set 7 gen 1 #1 → 11',
    'set 7 gen 1 #2 → 12',
    'set 7 gen 1 #3 → 13',
    'set 9 gen 0 #1 → 21',
    'set 4 gen 0 #1 → 31',
    'set 4 gen 0 #2 → 32',
  ]);
});

it('reads entry i in order, and from 0 again (a map without batch operations starts over)', () => {
  const read = slotRunReader(RUNS);
  const want = slotRunEntries(RUNS).map(line);
  const firstChunk = [0, 1, 2, 3].map((i) => line(read(i)));
  const overAgain = want.map((_, i) => line(read(i)));
  expect(firstChunk).toEqual(want.slice(0, 4));
  expect(overAgain).toEqual(want);
  expect(read(2)[0]).toBe(read(5)[0]); // one key object for every entry: nothing made per slot
});
