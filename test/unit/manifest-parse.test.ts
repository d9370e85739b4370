// The manifest parser's two readers (src/sources/manifest-parse.ts) must agree: js-yaml, the fast
// one, and `yaml`, which reads files with anchors or aliases and reports errors. Compared over
// every manifest in the repository (examples, fixtures, the corpus, the golden steps) and over the
// scalars a hand-written manifest might hold, plus what decides which reader runs.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { hasAnchorOrAlias, parseFast, parseManifest, parseSafe } from '../../src/sources/manifest-parse.js';
import { parseTxtar } from '../lib/txtar.js';

const ROOT = new URL('../..', import.meta.url).pathname;

function manifests(): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const dir of ['src/lab/examples', 'test/fixtures/manifests', 'test/corpus', 'deploy']) {
    for (const f of readdirSync(`${ROOT}${dir}`).filter((n) => /\.(ya?ml|json)$/.test(n)))
      out.push([`${dir}/${f}`, readFileSync(`${ROOT}${dir}/${f}`, 'utf8')]);
  }
  for (const f of readdirSync(`${ROOT}test/golden`).filter((n) => n.endsWith('.txtar'))) {
    for (const file of parseTxtar(readFileSync(`${ROOT}test/golden/${f}`, 'utf8')).files)
      if (file.name.endsWith('.yaml')) out.push([`test/golden/${f}:${file.name}`, file.data]);
  }
  return out;
}

describe('manifest parsing: js-yaml and yaml agree', () => {
  const all = manifests();

  it('finds the repository manifests', () => {
    expect(all.length).toBeGreaterThan(30);
  });

  it.each(all)('%s: the same objects and notes from both readers', (name, text) => {
    const safe = parseSafe(text, name);
    if (hasAnchorOrAlias(text)) {
      // Only `yaml` reads these (the alias bomb among them).
      expect(parseManifest(text, name)).toEqual(safe);
      return;
    }
    const fast = parseFast(text, name);
    if (fast === undefined) {
      // js-yaml refused it: the file is one `yaml` must report on.
      expect(safe).toHaveProperty('error');
      return;
    }
    expect(fast).toEqual(safe);
  });

  it('reads the scalars of YAML 1.2 core the same way (ports, booleans, nulls, dates as text)', () => {
    const scalars = ['0080', '0x50', '0o17', '+80', '-1', '1e3', '.inf', '.NaN', '~', 'null', 'NULL', 'True'];
    const more = ['yes', 'no', 'on', 'off', '2024-01-01T00:00:00Z', '2024-01-01', '12:30:00', '<<', '10.244.0.1'];
    const text = [...scalars, ...more].map((v, i) => `k${i}: ${v}`).join('\n');
    expect(parseFast(`kind: Service\nspec:\n  ${text.replaceAll('\n', '\n  ')}\n`, 'x')).toEqual(
      parseSafe(`kind: Service\nspec:\n  ${text.replaceAll('\n', '\n  ')}\n`, 'x'),
    );
  });

  it('sends files with anchors or aliases to `yaml`, which bounds their expansion', () => {
    const bomb = readFileSync(`${ROOT}test/corpus/alias-bomb.yaml`, 'utf8');
    expect(hasAnchorOrAlias(bomb)).toBe(true);
    expect(parseManifest(bomb, 'bomb.yaml')).toEqual(parseSafe(bomb, 'bomb.yaml'));
    const anchored = 'kind: List\nitems:\n- {kind: Service, metadata: &m {name: a}}\n- {kind: Service, metadata: *m}\n';
    const p = parseManifest(anchored, 'a.yaml');
    if ('error' in p) throw new Error(p.error);
    expect(p.services.map((s) => (s.object.metadata as { name: string }).name)).toEqual(['a', 'a']);
  });

  it('reports what js-yaml refuses with yaml’s message, line and column', () => {
    expect(parseFast('kind: Service\nmetadata:\n  name: a\n  name: b\n', 'x.yaml')).toBeUndefined();
    expect(parseManifest('kind: Service\nmetadata:\n  name: a\n  name: b\n', 'x.yaml')).toEqual({
      error: 'not valid YAML: line 4, column 3: Map keys must be unique',
    });
  });
});
