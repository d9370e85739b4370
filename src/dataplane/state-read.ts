// The current state read back from the maps: at start (the pinned maps are the truth after a
// restart), after a failed sync and for the periodic check (reconciler.ts reread()).
import {
  FE_MAGLEV,
  type Backend,
  type Config,
  type Frontend,
  type FrontendKey,
  type ServiceInfo,
  type SlotKey,
  type SourceRangeKey,
} from '../abi/index.js';
import { frontendKeyString, IdMap } from '../compile/index.js';
import type { DataplaneMaps } from './maps.js';
import { emptyState, slotKeyNumber, type CurrentState } from './plan.js';
import type { SlotKeys } from './slot-keys.js';
import { sourceRangesFromMap } from './source-ranges.js';

/** The agent-written maps' contents as a CurrentState. */
export function readState(maps: DataplaneMaps): CurrentState {
  return stateFromMaps(maps.frontends.entries(), maps.slots.entries(), maps.backends.entries(), {
    sourceRanges: maps.sourceRanges.entries(),
    serviceInfo: maps.serviceInfo.entries(),
    config: maps.config.get(0),
    maglev: maps.maglev.entries(),
  });
}

/** Rebuilds CurrentState from raw map contents (agent restart: the pinned maps are the truth). */
export function stateFromMaps(
  frontends: Array<[FrontendKey, Frontend]>,
  slots: Array<[SlotKey, number]>,
  backends: Array<[number, Backend]>,
  rest: {
    sourceRanges?: Array<[SourceRangeKey, unknown]>;
    serviceInfo?: Array<[number, ServiceInfo]>;
    config?: Config;
    maglev?: Array<[SlotKey, number]>;
  } = {},
): CurrentState {
  const state = emptyState();
  for (const [id, be] of backends) state.backends.set(id, be);
  state.sourceRanges = sourceRangesFromMap(rest.sourceRanges ?? []);
  state.serviceInfo = new IdMap(rest.serviceInfo ?? []);
  state.config = rest.config;
  const slotMap = readSlots(slots, state.slotKeys);
  const maglevMap = readSlots(rest.maglev ?? [], state.maglevKeys);
  for (const [key, value] of frontends) {
    state.frontends.set(frontendKeyString(key), { key, value });
    if (state.sets.has(value.setId)) continue;
    const maglev = (value.flags & FE_MAGLEV) !== 0;
    const from = maglev ? maglevMap : slotMap;
    const members: number[] = [];
    for (let slot = 1; slot <= value.count; slot++) {
      const backendId = from.get(slotKeyNumber({ setId: value.setId, slot, gen: value.gen }));
      if (backendId === undefined) break; // a torn set: the next sync rewrites it whole
      members.push(backendId);
    }
    state.sets.set(value.setId, maglev ? { gen: value.gen, members, maglev } : { gen: value.gen, members });
  }
  return state;
}

/** Records every key of a slots-shaped map in @keys; returns key number → backend id. */
function readSlots(entries: Array<[SlotKey, number]>, keys: SlotKeys): Map<number, number> {
  const byKey = new Map<number, number>();
  for (const [key, backendId] of entries) byKey.set(slotKeyNumber(key), backendId);
  // In key order, so each set's slots arrive 1, 2, ... (what SlotKeys keeps as a count).
  for (const n of Float64Array.from(byKey.keys()).sort()) keys.add(n);
  return byKey;
}
