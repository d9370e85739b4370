#!/usr/bin/env node
// The layer rules of src/: which folder may import which. Data flows one way,
//   sources → model → compile → dataplane (plan → reconcile) → maps (abi over bpf),
// and only the composition root (src/agent) and the CLI see everything. A folder may import
// itself and the folders listed for it; anything else fails `make test`, naming the file, the
// import and the rule. Also checks size: no file in src/ over 350 lines unless its first
// comment says why ("longer than 350 lines because ...").
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const SRC = resolve(process.argv[2] ?? 'src');
const MAX_FILE_LINES = 350;

/** folder → the folders it may import (leaves first). */
export const LAYERS = {
  net: [], // address arithmetic
  util: [], // poll, small helpers
  bpf: ['net'], // generic libbpf wrapper: knows no Switchyard map
  abi: ['bpf', 'net'], // map layouts and constants of bpf/switchyard.h
  sources: [], // raw objects and where they came from
  model: ['sources', 'net', 'util'],
  compile: ['model', 'abi', 'net'],
  dataplane: ['compile', 'model', 'abi', 'bpf', 'net'],
  inspect: ['dataplane', 'compile', 'abi', 'bpf', 'net'],
  explain: ['inspect', 'dataplane', 'abi', 'bpf', 'net'], // explain and trace: the live maps, read-only
  k8s: ['sources', 'net', 'util'],
  fakeapi: ['net', 'util'], // the API-server double: tests and the lab, never the agent
  agent: ['k8s', 'sources', 'model', 'compile', 'dataplane', 'inspect', 'abi', 'bpf', 'net', 'util'],
  lab: ['fakeapi', 'explain', 'inspect', 'sources', 'model', 'abi', 'bpf', 'net', 'util'],
  cli: [
    'agent',
    'lab',
    'explain',
    'inspect',
    'k8s',
    'sources',
    'model',
    'compile',
    'dataplane',
    'abi',
    'bpf',
    'net',
    'util',
  ],
};

/** Leaf files with no imports of their own, which any folder may import. */
export const LEAVES = ['model/kinds.ts', 'model/mirror.ts'];

function* files(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* files(p);
    else if (/\.(ts|mts|js|mjs)$/.test(name) && !name.endsWith('.d.ts')) yield p;
  }
}

const layerOf = (file) => relative(SRC, file).split('/')[0];
const problems = [];
for (const file of files(SRC)) {
  const text = readFileSync(file, 'utf8');
  const rel = relative(process.cwd(), file);
  const from = layerOf(file);
  const allowed = LAYERS[from];
  if (!allowed) {
    if (!/\//.test(relative(SRC, file))) continue; // top-level files (none today) are free
    problems.push(`${rel}: folder src/${from}/ has no layer rule; add it to LAYERS in tools/check-layers.mjs`);
    continue;
  }
  for (const m of text.matchAll(
    /(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s*['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g,
  )) {
    const spec = m[1] ?? m[2];
    const target = resolve(dirname(file), spec);
    if (!target.startsWith(`${SRC}/`)) continue;
    const to = layerOf(target);
    const leaf = LEAVES.some((l) => relative(SRC, target).replace(/\.js$/, '.ts') === l);
    if (to !== from && !allowed.includes(to) && !leaf) {
      problems.push(
        `${rel}: imports ${spec} (src/${to}/), but src/${from}/ may import only ${allowed.map((l) => `src/${l}/`).join(', ') || 'nothing in src/'}`,
      );
    }
  }
  const lines = text.split('\n').length;
  if (lines > MAX_FILE_LINES && !/longer than 350 lines because/i.test(text.slice(0, 2000))) {
    problems.push(
      `${rel}: ${lines} lines (limit ${MAX_FILE_LINES}); split it by role, or say at its top why it is "longer than 350 lines because ..."`,
    );
  }
}
if (problems.length > 0) {
  console.error(`layer check: ${problems.length} problem(s)\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log('layer check: every import in src/ follows the layer rules; no file over 350 lines');
