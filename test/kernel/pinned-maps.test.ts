// The pin-shape guard: the shape of every map the agent pins from build/bpf/switchyard.o, sock.o
// and sock_destroy.o must match test/golden/pinned-maps.txt. An agent upgraded over an older
// agent's pins loads only when libbpf can reuse each pin, which needs the same type, key and value
// size, max_entries and flags; a grown prog array or a resized table breaks that and nothing else
// in the suite would notice. The three objects share one pin directory, so a map name in two of
// them must also have one shape in both, or the second load fails over the first one's pin.
// Reads the objects without loading them (no root). UPDATE_GOLDEN=1 rewrites the shapes, keeping
// the marks, which a human sets: see test/lib/pin-shapes.ts and "Pins across upgrades" in
// docs/architecture.md.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NODE_SETTINGS_MAPS } from '../../src/agent/agent.js';
import { SIZE_SETTING } from '../../src/agent/map-sizes.js';
import { SOCK_STALE_PINS } from '../../src/agent/socklb.js';
import { pinnedMapDefs, silenceLibbpf } from '../../src/bpf/index.js';
import {
  formatGolden,
  GOLDEN_REL,
  markProblems,
  mergeObjects,
  type ObjectMaps,
  parseGolden,
  PIN_OBJECTS,
  type ReplaceList,
  sharedShapeProblems,
  shapeProblems,
} from '../lib/pin-shapes.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const GOLDEN = `${ROOT}${GOLDEN_REL}`;
const UPDATE = process.env.UPDATE_GOLDEN === '1';
// The code's lists of pins replaced at start, each with the object whose open replaces them.
const REPLACE_LISTS: ReplaceList[] = [
  { label: 'NODE_SETTINGS_MAPS (src/agent/agent.ts)', object: 'switchyard', maps: NODE_SETTINGS_MAPS },
  { label: 'SOCK_STALE_PINS (src/agent/socklb.ts)', object: 'sock', maps: SOCK_STALE_PINS },
];

// libbpf notes the objects' .sy_abi section it does not know; nothing to act on here.
silenceLibbpf();

function readObjects(): ObjectMaps[] {
  return PIN_OBJECTS.map((object) => {
    const path = `${ROOT}build/bpf/${object}.o`;
    expect(existsSync(path), `${path} missing: run make all`).toBe(true);
    return { object, maps: pinnedMapDefs(path) };
  });
}

// Thrown, not compared: the message is the instructions, and a diff of arrays would print it twice.
function fail(problems: string[]): void {
  if (problems.length) throw new Error(`\n${problems.join('\n\n')}\n`);
}

describe(`pinned map shapes (${GOLDEN_REL})`, () => {
  it('the objects carry the shapes the golden file lists', () => {
    const pins = mergeObjects(readObjects());
    const golden = parseGolden(existsSync(GOLDEN) ? readFileSync(GOLDEN, 'utf8') : '');
    if (UPDATE) {
      writeFileSync(GOLDEN, formatGolden(pins.map((m) => ({ ...m, marks: golden.get(m.name)?.marks ?? [] }))));
      return;
    }
    fail(shapeProblems(golden, pins, REPLACE_LISTS));
  });

  it('a map in several objects has one shape in all of them', () => {
    fail(sharedShapeProblems(readObjects()));
  });

  it('the maps replaced at start and the maps sized at run time are marked in the golden file', () => {
    const golden = parseGolden(readFileSync(GOLDEN, 'utf8'));
    fail(markProblems(golden, REPLACE_LISTS, SIZE_SETTING));
  });
});
