// Golden map dumps, in the manner of Cilium's pkg/loadbalancer testdata: each test/golden/*.txtar
// holds steps of Service/EndpointSlice YAML (the whole world at that step, as a manifest
// directory would hold it) and, after each, the dump of every agent-written map. Each step runs
// through the real model, compile, plan and reconciler into the maps of the real BPF object,
// pinned in a bpffs directory of its own, and the dump must match byte for byte.
// UPDATE_GOLDEN=1 rewrites the dumps from what the maps hold.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { pino } from 'pino';
import { BpfObject, silenceLibbpf } from '../../src/bpf/index.js';
import { compile, IdAllocator, type NodeConfig } from '../../src/compile/index.js';
import { dataplaneMaps } from '../../src/dataplane/maps.js';
import { Reconciler } from '../../src/dataplane/reconciler.js';
import { buildModel } from '../../src/model/index.js';
import { parseManifest } from '../../src/sources/manifests.js';
import { dumpMaps } from '../lib/mapdump.js';
import { withBpffs } from '../lib/namespaces.js';
import { describeRoot } from '../lib/root.js';
import { formatTxtar, parseTxtar, type Txtar } from '../lib/txtar.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const OBJECT = `${ROOT}build/bpf/switchyard.o`;
const GOLDEN = `${ROOT}test/golden`;
const UPDATE = process.env.UPDATE_GOLDEN === '1';
/** Every scenario runs on node1 of a two-node cluster; node2's endpoints are remote. */
/** A Maglev table of 13 entries keeps the dumps short. */
const NODE: NodeConfig = {
  nodeName: 'node1',
  nodePortAddresses: ['10.250.0.11'],
  snatAddress: '10.250.0.11',
  maglevTableSize: 13,
};
/** In the dual-stack scenarios (dual-*.txtar) node1 has an IPv6 address too. */
const DUAL_NODE: NodeConfig = {
  ...NODE,
  nodePortAddresses: ['10.250.0.11', 'fd00:250::11'],
  snatAddress6: 'fd00:250::11',
};
const log = pino({ level: 'silent' });

const scenarios = readdirSync(GOLDEN)
  .filter((f) => f.endsWith('.txtar'))
  .sort();

/** The steps of a scenario: "stepN.yaml" in, "stepN.dump" out, in file order. */
function steps(archive: Txtar, file: string): Array<{ name: string; yaml: string }> {
  const out = archive.files
    .filter((f) => f.name.endsWith('.yaml'))
    .map((f) => ({ name: f.name.replace(/\.yaml$/, ''), yaml: f.data }));
  if (out.length === 0) throw new Error(`${file}: no "-- stepN.yaml --" section`);
  return out;
}

describeRoot('golden map dumps (test/golden/*.txtar)', () => {
  let bpffs: { dir: string; cleanup(): void };

  beforeAll(() => {
    execFileSync('make', ['-s', '-C', ROOT, 'build/bpf/switchyard.o'], { stdio: 'pipe' });
    silenceLibbpf();
    bpffs = withBpffs('sy-golden');
  });
  afterAll(() => bpffs?.cleanup());

  it('has the scenarios the issue asks for', () => {
    expect(scenarios).toEqual(
      expect.arrayContaining([
        'affinity.txtar',
        'clusterip-multiport.txtar',
        'edit-then-delete.txtar',
        'nodeport-etp-local.txtar',
        'source-ranges.txtar',
        'terminating-fallback.txtar',
        'dual-stack.txtar',
      ]),
    );
  });

  for (const file of scenarios) {
    it(file, () => {
      const path = `${GOLDEN}/${file}`;
      const archive = parseTxtar(readFileSync(path, 'utf8'));
      // A fresh object per scenario, pinned in a directory of its own: no entry leaks between them.
      const pinDir = `${bpffs.dir}/${file.replace(/\W/g, '_')}`;
      mkdirSync(pinDir);
      const obj = BpfObject.open(OBJECT, { pinDir });
      try {
        const maps = dataplaneMaps(obj);
        const reconciler = new Reconciler(maps, log);
        const ids = new IdAllocator();
        const dumps = new Map<string, string>();
        for (const step of steps(archive, file)) {
          const parsed = parseManifest(step.yaml, `${file}:${step.name}.yaml`);
          if ('error' in parsed) throw new Error(`${file}: ${step.name}.yaml: ${parsed.error}`);
          const { model, errors } = buildModel({ ...parsed, errors: parsed.notes });
          expect(errors.map(String), `${file}: ${step.name}.yaml is valid`).toEqual([]);
          reconciler.sync(compile(model, file.startsWith('dual-') ? DUAL_NODE : NODE, ids));
          dumps.set(`${step.name}.dump`, dumpMaps(maps));
        }
        if (UPDATE) {
          const files = archive.files.filter((f) => !f.name.endsWith('.dump'));
          const updated = files.flatMap((f) =>
            f.name.endsWith('.yaml')
              ? [f, { name: f.name.replace(/\.yaml$/, '.dump'), data: dumps.get(f.name.replace(/\.yaml$/, '.dump'))! }]
              : [f],
          );
          writeFileSync(path, formatTxtar({ comment: archive.comment, files: updated }));
          return;
        }
        for (const [name, dump] of dumps) {
          const want = archive.files.find((f) => f.name === name);
          expect(want, `${file}: no "-- ${name} --" section (run with UPDATE_GOLDEN=1)`).toBeDefined();
          expect(dump, `${file}: ${name}`).toBe(want!.data);
        }
      } finally {
        obj.close();
      }
    });
  }
});
