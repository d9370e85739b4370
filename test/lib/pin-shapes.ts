// The golden file of pinned map shapes (test/golden/pinned-maps.txt) and its comparison with the
// compiled objects (switchyard.o, sock.o, sock_destroy.o, opened on one pin directory): libbpf
// reuses a pin only when type, key size, value size, max_entries and flags all match, so a shape
// that changes silently makes an upgraded agent fail to load over an older agent's pins, and a map
// two objects define differently makes the second load fail over the first one's pin. Every difference is a problem a human resolves; the messages say how.
import type { MapDef } from '../../src/bpf/index.js';

export const GOLDEN_REL = 'test/golden/pinned-maps.txt';
/** Mark on a golden line: the agent replaces this map's stale pin at start (NODE_SETTINGS_MAPS). */
export const REPLACE_MARK = 'replace-stale-pin';
/** Mark on a golden line: a flag resizes this map at run time (SIZE_SETTING); the line has the default. */
export const SIZED_MARK = 'sized-by=';

/** The objects the agent opens on one pin directory, by file name under build/bpf/ without .o, in
 *  the order it opens them (the tc object at start, then socket LB, then sock_destroy on a removed
 *  backend): a map name in several is one pin, shared. The golden file's objects column keeps it. */
export const PIN_OBJECTS = ['switchyard', 'sock', 'sock_destroy'] as const;

/** One object's pinned maps (pinnedMapDefs). */
export interface ObjectMaps {
  object: string;
  maps: MapDef[];
}

/** A pin: the shape of the first object that defines it, and every object that does. */
export interface PinnedMap extends MapDef {
  objects: string[];
}

export interface GoldenLine extends PinnedMap {
  marks: string[];
}

/** A list of pins replaced at start when stale, e.g. NODE_SETTINGS_MAPS for switchyard.o. */
export interface ReplaceList {
  /** Its name and file, for the messages. */
  label: string;
  /** The object whose BpfObject.open gets the list as replaceStalePins. */
  object: string;
  maps: readonly string[];
}

const FIELDS = [
  ['type', 'type'],
  ['keySize', 'key_size'],
  ['valueSize', 'value_size'],
  ['maxEntries', 'max_entries'],
  ['flags', 'map_flags'],
] as const;

const HEADER = `# The shape of every map BpfObject.open pins from build/bpf/switchyard.o, sock.o and sock_destroy.o
# (all but libbpf's .data/.rodata/.bss), one line per pin: the agent opens the three on one pin
# directory, so a name in several objects (column objects) is one pin they share, and must have
# one shape. Checked by test/kernel/pinned-maps.test.ts. libbpf reuses a pin only when all five
# fields match, so a change here breaks an upgrade over an older agent's pins unless the map is
# replaced at start or renamed: see "Pins across upgrades" in docs/architecture.md.
# max_entries is the compiled default; maps a flag resizes at run time (src/agent/map-sizes.ts)
# are listed with that default and marked ${SIZED_MARK}FLAG. ${REPLACE_MARK} marks the maps the agent
# replaces when their pin is stale (NODE_SETTINGS_MAPS in src/agent/agent.ts, SOCK_STALE_PINS in
# src/agent/socklb.ts): set it by hand only after checking that dropping the map's entries is safe.
# UPDATE_GOLDEN=1 npx vitest run test/kernel/pinned-maps.test.ts rewrites the shapes, keeping marks.
`;

export function parseGolden(text: string): Map<string, GoldenLine> {
  const out = new Map<string, GoldenLine>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const [name, type, key, value, max, flags, objects, ...marks] = line.split(/\s+/);
    if (objects === undefined) throw new Error(`${GOLDEN_REL}: short line: ${line}`);
    out.set(name, {
      name,
      type,
      keySize: Number(key),
      valueSize: Number(value),
      maxEntries: Number(max),
      flags: Number(flags),
      objects: objects.split(','),
      marks,
    });
  }
  return out;
}

export function formatGolden(lines: GoldenLine[]): string {
  const rows = [['# name', 'type', 'key_size', 'value_size', 'max_entries', 'map_flags', 'objects', 'marks']];
  for (const l of lines) {
    const flags = `0x${l.flags.toString(16)}`;
    const objects = l.objects.join(',');
    rows.push([l.name, l.type, `${l.keySize}`, `${l.valueSize}`, `${l.maxEntries}`, flags, objects, l.marks.join(' ')]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const body = rows.map((r) =>
    r
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd(),
  );
  return `${HEADER}${body.join('\n')}\n`;
}

const show = (field: string, v: string | number) => (field === 'flags' ? `0x${Number(v).toString(16)}` : `${v}`);

/** The list that replaces this pin at start, if it may: the first object to open it is the one
 *  whose open must replace it (switchyard.o before sock.o, sock.o before sock_destroy.o). */
const listFor = (line: PinnedMap, lists: readonly ReplaceList[]) => lists.find((l) => l.object === line.objects[0]);

/** What to do about a changed shape, for the failure message. */
function changedShape(old: GoldenLine, now: PinnedMap, changes: string[], lists: readonly ReplaceList[]): string {
  const head = `pinned map '${now.name}' (${now.objects.join(', ')}) changed shape: ${changes.join(', ')}.`;
  const sizesOnly = changes.every((c) => c.startsWith('key_size') || c.startsWith('value_size'));
  const replacedBy = lists.find((l) => l.maps.includes(now.name));
  if (old.marks.includes(REPLACE_MARK) && replacedBy && sizesOnly) {
    return `${head} It is replaced at start when its key or value size differs (${replacedBy.label}), so an upgrade handles it; update ${GOLDEN_REL}.`;
  }
  const sized = old.marks.find((m) => m.startsWith(SIZED_MARK));
  const note =
    sized && changes.some((c) => c.startsWith('max_entries'))
      ? ` Its compiled default is what nodes without ${sized.slice(SIZED_MARK.length)} pinned: they would fail to load.`
      : '';
  const list = listFor(now, lists)?.label ?? `the replaceStalePins list of ${now.objects[0]}.o`;
  return (
    `${head} libbpf reuses a pin only when type, key_size, value_size, max_entries and map_flags all match, ` +
    `so an agent built from this object fails to load (bpf_object__load: EINVAL) over an older agent's pin.${note} Either\n` +
    `  - add '${now.name}' to ${list}, the pins replaced at start, only if dropping ` +
    `its entries is safe for established flows (say why there: the agent must write it whole before any program reads it), ` +
    `mark its line ${REPLACE_MARK}; replaceStalePins (src/bpf/object.ts) replaces a pin only when its key or value size ` +
    `differs, so a changed type, max_entries or map_flags needs unpinIfStale to compare those too; or\n` +
    `  - give the new shape a new map name (the old pin is then left unused);\n` +
    `then update ${GOLDEN_REL} (UPDATE_GOLDEN=1 npx vitest run test/kernel/pinned-maps.test.ts) and review its diff.`
  );
}

/** One line per pin, by name so moving a definition in bpf/ does not reorder the golden file. */
export function mergeObjects(objects: readonly ObjectMaps[]): PinnedMap[] {
  const byName = new Map<string, PinnedMap>();
  for (const { object, maps } of objects) {
    for (const m of maps) {
      const seen = byName.get(m.name);
      if (seen) seen.objects.push(object);
      else byName.set(m.name, { ...m, objects: [object] });
    }
  }
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * A map name defined in several objects is one pin: the first object to load pins its shape, and
 * libbpf refuses the others' load over it if their definition differs in any field. One message
 * per map and object, naming the fields.
 */
export function sharedShapeProblems(objects: readonly ObjectMaps[]): string[] {
  const first = new Map<string, { object: string; def: MapDef }>();
  const out: string[] = [];
  for (const { object, maps } of objects) {
    for (const def of maps) {
      const a = first.get(def.name);
      if (!a) {
        first.set(def.name, { object, def });
        continue;
      }
      const diff = FIELDS.filter(([f]) => a.def[f] !== def[f]).map(
        ([f, label]) => `${label} ${show(f, a.def[f])} in ${a.object}.o, ${show(f, def[f])} in ${object}.o`,
      );
      if (diff.length)
        out.push(
          `map '${def.name}' has another shape in ${object}.o than in ${a.object}.o: ${diff.join(', ')}. ` +
            `Both objects pin it at <pin-dir>/${def.name} and libbpf reuses a pin only when all five fields match, ` +
            `so whichever loads second fails (bpf_object__load: EINVAL) over the other's pin. ` +
            `Give it one definition in both (a shared header in bpf/), or another name in one of them.`,
        );
    }
  }
  return out;
}

/** Every difference between the golden file and the objects' pins, as a message naming map and field. */
export function shapeProblems(
  golden: Map<string, GoldenLine>,
  pins: PinnedMap[],
  lists: readonly ReplaceList[],
): string[] {
  const out: string[] = [];
  for (const now of pins) {
    const old = golden.get(now.name);
    if (!old) {
      out.push(`new pinned map '${now.name}': no older pin can clash with it; add its line to ${GOLDEN_REL}.`);
      continue;
    }
    const changes = FIELDS.filter(([f]) => old[f] !== now[f]).map(
      ([f, label]) => `${label} ${show(f, old[f])} → ${show(f, now[f])}`,
    );
    if (changes.length) out.push(changedShape(old, now, changes, lists));
    // Not an upgrade hazard by itself (sharedShapeProblems checks the shapes agree), but the
    // column is what a reader of the file trusts to know which objects a change touches.
    if (old.objects.join(',') !== now.objects.join(','))
      out.push(
        `pinned map '${now.name}' is now in ${now.objects.join(',')}, ${GOLDEN_REL} says ${old.objects.join(',')}: update it.`,
      );
  }
  const names = new Set(pins.map((m) => m.name));
  for (const name of golden.keys()) {
    if (!names.has(name))
      out.push(
        `pinned map '${name}' is gone from ${PIN_OBJECTS.map((o) => `${o}.o`).join(', ')}: an older agent's pin stays ` +
          `unused; remove its line from ${GOLDEN_REL} (and do not reuse the name for another shape while such pins may exist).`,
      );
  }
  return out;
}

/** The golden marks against the code's lists: a map replaced at start needs a human's mark. */
export function markProblems(
  golden: Map<string, GoldenLine>,
  lists: readonly ReplaceList[],
  sizeSetting: Readonly<Record<string, string>>,
): string[] {
  const out: string[] = [];
  for (const list of lists) {
    for (const name of list.maps) {
      const line = golden.get(name);
      if (!line?.marks.includes(REPLACE_MARK))
        out.push(
          `'${name}' is in ${list.label} (its stale pin is replaced at start, its entries dropped) but its line in ` +
            `${GOLDEN_REL} is not marked ${REPLACE_MARK}: check that dropping it is safe for established flows, then mark it.`,
        );
      // replaceStalePins skips a name its object does not have: the pin would never be replaced.
      else if (line.objects[0] !== list.object)
        out.push(
          `'${name}' is in ${list.label}, the pins ${list.object}.o replaces at start, but the first object to ` +
            `open it is ${line.objects[0]}.o: its stale pin would fail that load first; list it there.`,
        );
    }
  }
  for (const line of golden.values()) {
    if (line.marks.includes(REPLACE_MARK) && !lists.some((l) => l.maps.includes(line.name)))
      out.push(
        `'${line.name}' is marked ${REPLACE_MARK} in ${GOLDEN_REL} but in none of ${lists.map((l) => l.label).join(', ')}: unmark it.`,
      );
    const sized = line.marks.find((m) => m.startsWith(SIZED_MARK))?.slice(SIZED_MARK.length);
    if (sized !== sizeSetting[line.name])
      out.push(
        `'${line.name}': ${GOLDEN_REL} says ${sized ? `${SIZED_MARK}${sized}` : 'not resized'}, ` +
          `src/agent/map-sizes.ts says ${sizeSetting[line.name] ? `${SIZED_MARK}${sizeSetting[line.name]}` : 'not resized'}.`,
      );
  }
  return out;
}
