// desired.maglev kept up to date by the incremental compiler: which sets are Maglev lookup tables
// (the plans write those to the maglev map, not slots) and their size. As after a full compile,
// desired.maglev exists only while some set is Maglev.
import { MAGLEV_ENTRY_BYTES } from './compile.js';
import type { DesiredState, MaglevSummary } from './types.js';

/** Adds the Maglev sets one Service's compile built (@built: its Output's summary). */
export function addMaglevSets(desired: DesiredState, built: MaglevSummary): void {
  if (built.sets.size === 0) return;
  const m = (desired.maglev ??= { sets: new Set(), entries: 0, bytes: 0, buildMs: 0 });
  for (const id of built.sets) m.sets.add(id);
  m.entries += built.entries;
  m.bytes += built.bytes;
  m.buildMs += built.buildMs;
}

/** Takes set @id out of desired.maglev, if it is a Maglev set; call it before the set leaves
 *  desired.sets (its size is read from there). */
export function dropMaglevSet(desired: DesiredState, id: number): void {
  const m = desired.maglev;
  if (!m?.sets.delete(id)) return;
  const entries = desired.sets.get(id)?.length ?? 0;
  m.entries -= entries;
  m.bytes -= entries * MAGLEV_ENTRY_BYTES;
  if (m.sets.size === 0) delete desired.maglev;
}
