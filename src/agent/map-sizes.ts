// Map sizes chosen at run time, in Cilium's terms (the compiled-in sizes stay the defaults):
//
//   --bpf-lb-map-max N             the load-balancing maps: frontends and affinity N entries,
//                                  backends and slots 4·N (a set is written whole under the other
//                                  generation before the old one goes, so slots need headroom).
//                                  Default 65536 (the compiled-in sizes).
//   --bpf-ct-global-max N          conntrack entries (LRU: a full table evicts the idlest flow).
//   --bpf-map-dynamic-size-ratio R a share of total memory (0 < R ≤ 1) for conntrack and affinity,
//                                  when not given explicitly; clamped to [2^10, 2^24] like Cilium.
//
// The stats and service_info maps stay at SY_MAX_SERVICES: svc ids index them and the data path
// bounds-checks against the compiled constant. A pinned map of another size is refused with an
// error naming the setting and both sizes: replacing it would drop established flows.
import { totalmem } from 'node:os';
import type { PinnedSizeError } from '../bpf/index.js';
import { layouts, MAX_AFFINITY, MAX_CONNTRACK, MAX_FRONTENDS } from '../abi/index.js';

export interface MapSizeSettings {
  bpfLbMapMax?: number;
  bpfCtGlobalMax?: number;
  bpfMapDynamicSizeRatio?: number;
}

export const LIMIT_TABLE_MIN = 1 << 10;
export const LIMIT_TABLE_MAX = 1 << 24;
/** A hash map element's kernel overhead besides key and value (struct htab_elem, rounded). */
const HTAB_ELEM_BYTES = 48;

/** Which setting sizes each resizable map, for error messages. */
export const SIZE_SETTING: Readonly<Record<string, string>> = {
  frontends: '--bpf-lb-map-max',
  affinity: '--bpf-lb-map-max',
  backends: '--bpf-lb-map-max',
  slots: '--bpf-lb-map-max',
  conntrack: '--bpf-ct-global-max',
  frontends6: '--bpf-lb-map-max',
  affinity6: '--bpf-lb-map-max',
  backends6: '--bpf-lb-map-max',
  conntrack6: '--bpf-ct-global-max',
};

/** Each IPv6 map is its IPv4 twin's size (bpf/maps.h): a flag sizes both families, as Cilium's do. */
const IPV6_TWINS = ['frontends', 'affinity', 'backends', 'conntrack'] as const;

/** map name → max_entries for the maps the settings size; maps not listed keep the object's size. */
export function mapSizes(s: MapSizeSettings, memoryBytes = totalmem()): Record<string, number> {
  const out: Record<string, number> = {};
  const lb = s.bpfLbMapMax;
  if (lb !== undefined) Object.assign(out, { frontends: lb, affinity: lb, backends: 4 * lb, slots: 4 * lb });
  if (s.bpfCtGlobalMax !== undefined) out.conntrack = s.bpfCtGlobalMax;
  if (s.bpfMapDynamicSizeRatio !== undefined) {
    // Four fifths of the budget for conntrack (two entries per flow), one fifth for affinity.
    const budget = s.bpfMapDynamicSizeRatio * memoryBytes;
    const ctBytes = layouts.ctKey.size + layouts.ctEntry.size + HTAB_ELEM_BYTES;
    const affBytes = layouts.affinityKey.size + layouts.affinity.size + HTAB_ELEM_BYTES;
    out.conntrack ??= clamp(Math.floor((budget * 0.8) / ctBytes));
    if (lb === undefined) out.affinity = clamp(Math.floor((budget * 0.2) / affBytes));
  }
  for (const name of IPV6_TWINS) if (out[name] !== undefined) out[`${name}6`] = out[name];
  return out;
}

/** The sizes in effect (the defaults for what the settings leave alone), for the startup log. */
export function effectiveSizes(sizes: Record<string, number>): Record<string, number> {
  return {
    frontends: MAX_FRONTENDS,
    backends: 4 * MAX_FRONTENDS,
    slots: 4 * MAX_FRONTENDS,
    affinity: MAX_AFFINITY,
    conntrack: MAX_CONNTRACK,
    ...sizes,
  };
}

/** A pin of another size, restated with the setting that asked for the new size. */
export function explainPinnedSize(err: unknown, pinDir: string): unknown {
  // By name, not instanceof: config.ts imports this file, and --help must not load libbpf (ffi-rs).
  if (!(err instanceof Error) || err.name !== 'PinnedSizeError') return err;
  const e = err as PinnedSizeError;
  const setting = SIZE_SETTING[e.map] ?? 'the map size settings';
  return new Error(
    `${setting}: map '${e.map}' is pinned at ${e.pinPath} with ${e.pinned} entries, ` +
      `but the settings ask for ${e.requested}; a pinned map cannot be resized without dropping its entries ` +
      `(established flows). Keep the old size, or remove the pins under ${pinDir} (this drops conntrack state) and restart`,
  );
}

/** Entries flags: an integer in [LIMIT_TABLE_MIN, LIMIT_TABLE_MAX]; small tables are allowed down
 *  to 1 for tests (a map-full e2e). */
export function parseEntries(text: string): number {
  const n = /^\d+$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!(n >= 1 && n <= LIMIT_TABLE_MAX)) throw new Error(`expected a number of entries 1..${LIMIT_TABLE_MAX}`);
  return n;
}

export function parseRatio(text: string): number {
  const n = Number(text.trim());
  if (!(text.trim() !== '' && n > 0 && n <= 1))
    throw new Error('expected a share of total memory, 0 < ratio ≤ 1 (e.g. 0.0025)');
  return n;
}

function clamp(n: number): number {
  return Math.max(LIMIT_TABLE_MIN, Math.min(LIMIT_TABLE_MAX, n));
}
