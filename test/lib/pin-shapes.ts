// The golden file of pinned map shapes (test/golden/pinned-maps.txt) and its comparison with the
// compiled object: libbpf reuses a pin only when type, key size, value size, max_entries and flags
// all match, so a shape that changes silently makes an upgraded agent fail to load over an older
// agent's pins. Every difference is a problem a human resolves; the messages say how.
import type { MapDef } from '../../src/bpf/index.js';

export const GOLDEN_REL = 'test/golden/pinned-maps.txt';
/** Mark on a golden line: the agent replaces this map's stale pin at start (NODE_SETTINGS_MAPS). */
export const REPLACE_MARK = 'replace-stale-pin';
/** Mark on a golden line: a flag resizes this map at run time (SIZE_SETTING); the line has the default. */
export const SIZED_MARK = 'sized-by=';

export interface GoldenLine extends MapDef {
  marks: string[];
}

const FIELDS = [
  ['type', 'type'],
  ['keySize', 'key_size'],
  ['valueSize', 'value_size'],
  ['maxEntries', 'max_entries'],
  ['flags', 'map_flags'],
] as const;

const HEADER = `# The shape of every map BpfObject.open pins from build/bpf/switchyard.o (all but libbpf's
# .data/.rodata/.bss), checked by test/kernel/pinned-maps.test.ts. libbpf reuses a pin only when
# all five fields match, so a change here breaks an upgrade over an older agent's pins unless the
# map is replaced at start or renamed: see "Pins across upgrades" in docs/architecture.md.
# max_entries is the compiled default; maps a flag resizes at run time (src/agent/map-sizes.ts)
# are listed with that default and marked ${SIZED_MARK}FLAG. ${REPLACE_MARK} marks the maps the agent
# replaces when their pin is stale (NODE_SETTINGS_MAPS in src/agent/agent.ts): set it by hand only
# after checking that dropping the map's entries is safe for established flows.
# UPDATE_GOLDEN=1 npx vitest run test/kernel/pinned-maps.test.ts rewrites the shapes, keeping marks.
`;

export function parseGolden(text: string): Map<string, GoldenLine> {
  const out = new Map<string, GoldenLine>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const [name, type, key, value, max, flags, ...marks] = line.split(/\s+/);
    if (flags === undefined) throw new Error(`${GOLDEN_REL}: short line: ${line}`);
    out.set(name, {
      name,
      type,
      keySize: Number(key),
      valueSize: Number(value),
      maxEntries: Number(max),
      flags: Number(flags),
      marks,
    });
  }
  return out;
}

export function formatGolden(lines: GoldenLine[]): string {
  const rows = [['# name', 'type', 'key_size', 'value_size', 'max_entries', 'map_flags', 'marks']];
  for (const l of lines) {
    const flags = `0x${l.flags.toString(16)}`;
    rows.push([l.name, l.type, `${l.keySize}`, `${l.valueSize}`, `${l.maxEntries}`, flags, l.marks.join(' ')]);
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

/** What to do about a changed shape, for the failure message. */
function changedShape(old: GoldenLine, now: MapDef, changes: string[], replaceList: readonly string[]): string {
  const head = `pinned map '${now.name}' changed shape: ${changes.join(', ')}.`;
  const sizesOnly = changes.every((c) => c.startsWith('key_size') || c.startsWith('value_size'));
  if (old.marks.includes(REPLACE_MARK) && replaceList.includes(now.name) && sizesOnly) {
    return `${head} It is replaced at start when its key or value size differs (NODE_SETTINGS_MAPS), so an upgrade handles it; update ${GOLDEN_REL}.`;
  }
  const sized = old.marks.find((m) => m.startsWith(SIZED_MARK));
  const note =
    sized && changes.some((c) => c.startsWith('max_entries'))
      ? ` Its compiled default is what nodes without ${sized.slice(SIZED_MARK.length)} pinned: they would fail to load.`
      : '';
  return (
    `${head} libbpf reuses a pin only when type, key_size, value_size, max_entries and map_flags all match, ` +
    `so an agent built from this object fails to load (bpf_object__load: EINVAL) over an older agent's pin.${note} Either\n` +
    `  - add '${now.name}' to NODE_SETTINGS_MAPS (src/agent/agent.ts), the pins replaced at start, only if dropping ` +
    `its entries is safe for established flows (say why there: the agent must write it whole before any program reads it), ` +
    `mark its line ${REPLACE_MARK}; replaceStalePins (src/bpf/object.ts) replaces a pin only when its key or value size ` +
    `differs, so a changed type, max_entries or map_flags needs unpinIfStale to compare those too; or\n` +
    `  - give the new shape a new map name (the old pin is then left unused);\n` +
    `then update ${GOLDEN_REL} (UPDATE_GOLDEN=1 npx vitest run test/kernel/pinned-maps.test.ts) and review its diff.`
  );
}

/** Every shape difference between the golden file and the object, as a message naming map and field. */
export function shapeProblems(
  golden: Map<string, GoldenLine>,
  maps: MapDef[],
  replaceList: readonly string[],
): string[] {
  const out: string[] = [];
  for (const now of maps) {
    const old = golden.get(now.name);
    if (!old) {
      out.push(`new pinned map '${now.name}': no older pin can clash with it; add its line to ${GOLDEN_REL}.`);
      continue;
    }
    const changes = FIELDS.filter(([f]) => old[f] !== now[f]).map(
      ([f, label]) => `${label} ${show(f, old[f])} → ${show(f, now[f])}`,
    );
    if (changes.length) out.push(changedShape(old, now, changes, replaceList));
  }
  const names = new Set(maps.map((m) => m.name));
  for (const name of golden.keys()) {
    if (!names.has(name))
      out.push(
        `pinned map '${name}' is gone from the object: an older agent's pin stays unused; remove its line from ${GOLDEN_REL} ` +
          `(and do not reuse the name for another shape while such pins may exist).`,
      );
  }
  return out;
}

/** The golden marks against the code's lists: a map replaced at start needs a human's mark. */
export function markProblems(
  golden: Map<string, GoldenLine>,
  replaceList: readonly string[],
  sizeSetting: Readonly<Record<string, string>>,
): string[] {
  const out: string[] = [];
  for (const name of replaceList) {
    if (!golden.get(name)?.marks.includes(REPLACE_MARK))
      out.push(
        `'${name}' is in NODE_SETTINGS_MAPS (its stale pin is replaced at start, its entries dropped) but its line in ` +
          `${GOLDEN_REL} is not marked ${REPLACE_MARK}: check that dropping it is safe for established flows, then mark it.`,
      );
  }
  for (const line of golden.values()) {
    if (line.marks.includes(REPLACE_MARK) && !replaceList.includes(line.name))
      out.push(`'${line.name}' is marked ${REPLACE_MARK} in ${GOLDEN_REL} but not in NODE_SETTINGS_MAPS: unmark it.`);
    const sized = line.marks.find((m) => m.startsWith(SIZED_MARK))?.slice(SIZED_MARK.length);
    if (sized !== sizeSetting[line.name])
      out.push(
        `'${line.name}': ${GOLDEN_REL} says ${sized ? `${SIZED_MARK}${sized}` : 'not resized'}, ` +
          `src/agent/map-sizes.ts says ${sizeSetting[line.name] ? `${SIZED_MARK}${sizeSetting[line.name]}` : 'not resized'}.`,
      );
  }
  return out;
}
