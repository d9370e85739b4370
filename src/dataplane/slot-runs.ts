// A slots phase's writes as runs (plan.ts, WriteSlotsPhase): each changed set once, with its
// generation and members, instead of an entry per slot. These read a run's slots back out.
import type { SlotKey } from '../abi/index.js';

/** A changed set written whole under generation `gen`: members[i] goes into slot i + 1. */
export interface SlotRun {
  setId: number;
  gen: number;
  members: readonly number[];
}

/** The runs' slots as entries, in order (for tools and tests; the reconciler writes runs as they are). */
export function slotRunEntries(runs: readonly SlotRun[]): Array<[SlotKey, number]> {
  return runs.flatMap(({ setId, gen, members }) =>
    members.map((m, i): [SlotKey, number] => [{ setId, slot: i + 1, gen }, m]),
  );
}

/**
 * The runs' slots as map.setEach asks for them: entry i of the phase, as one key object and one
 * pair that every call reuses (each is encoded before the next is asked for). In order, and from
 * 0 again where a map turns out to have no batch operations.
 */
export function slotRunReader(runs: readonly SlotRun[]): (i: number) => readonly [SlotKey, number] {
  const key: SlotKey = { setId: 0, slot: 0, gen: 0 };
  const entry: [SlotKey, number] = [key, 0];
  // Entry i is in runs[run], whose first entry is entry `first` of the phase.
  let run = 0;
  let first = 0;
  return (i) => {
    if (i < first) {
      run = 0;
      first = 0;
    }
    while (i >= first + runs[run]!.members.length) first += runs[run++]!.members.length;
    const { setId, gen, members } = runs[run]!;
    key.setId = setId;
    key.gen = gen;
    key.slot = i - first + 1;
    entry[1] = members[i - first]!;
    return entry;
  };
}
