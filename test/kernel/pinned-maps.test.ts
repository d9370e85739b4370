// The pin-shape guard: the shape of every map the agent pins from build/bpf/switchyard.o must match
// test/golden/pinned-maps.txt. An agent upgraded over an older agent's pins loads only when libbpf
// can reuse each pin, which needs the same type, key and value size, max_entries and flags; a
// grown prog array or a resized table breaks that and nothing else in the suite would notice.
// Reads the object without loading it (no root). UPDATE_GOLDEN=1 rewrites the shapes, keeping the
// marks, which a human sets: see test/lib/pin-shapes.ts and "Pins across upgrades" in
// docs/architecture.md.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NODE_SETTINGS_MAPS } from '../../src/agent/agent.js';
import { SIZE_SETTING } from '../../src/agent/map-sizes.js';
import { pinnedMapDefs, silenceLibbpf } from '../../src/bpf/index.js';
import { formatGolden, GOLDEN_REL, markProblems, parseGolden, shapeProblems } from '../lib/pin-shapes.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const OBJECT = `${ROOT}build/bpf/switchyard.o`;
const GOLDEN = `${ROOT}${GOLDEN_REL}`;
const UPDATE = process.env.UPDATE_GOLDEN === '1';

// libbpf notes the object's .sy_abi section it does not know; nothing to act on here.
silenceLibbpf();

describe(`pinned map shapes (${GOLDEN_REL})`, () => {
  it('the object carries the shapes the golden file lists', () => {
    expect(existsSync(OBJECT), `${OBJECT} missing: run make all`).toBe(true);
    const maps = pinnedMapDefs(OBJECT);
    const golden = parseGolden(existsSync(GOLDEN) ? readFileSync(GOLDEN, 'utf8') : '');
    if (UPDATE) {
      // By name, so moving a definition in bpf/ does not reorder the file.
      const lines = [...maps]
        .sort((a, b) => a.name.localeCompare(b.name))
        .map((m) => ({ ...m, marks: golden.get(m.name)?.marks ?? [] }));
      writeFileSync(GOLDEN, formatGolden(lines));
      return;
    }
    const problems = shapeProblems(golden, maps, NODE_SETTINGS_MAPS);
    // Thrown, not compared: the message is the instructions, and a diff of arrays would print it twice.
    if (problems.length) throw new Error(`\n${problems.join('\n\n')}\n`);
  });

  it('the maps replaced at start and the maps sized at run time are marked in the golden file', () => {
    const golden = parseGolden(readFileSync(GOLDEN, 'utf8'));
    const problems = markProblems(golden, NODE_SETTINGS_MAPS, SIZE_SETTING);
    if (problems.length) throw new Error(`\n${problems.join('\n')}\n`);
  });
});
