// The reconciler against real (unpinned) maps: what it leaves in the kernel after each sync.
import { afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { pino } from 'pino';
import { BpfObject, silenceLibbpf } from '../../src/bpf/index.js';
import { dataplaneMaps, type DataplaneMaps } from '../../src/dataplane/maps.js';
import { Reconciler } from '../../src/dataplane/reconciler.js';
import type { DesiredState } from '../../src/compile/index.js';
import { describeRoot } from '../lib/root.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const CLIENT = '10.244.9.9';

/** One service port with an "all" set (1) and a "local" set (2) sharing backend ids. */
function desired(all: number[], local: number[]): DesiredState {
  return {
    frontends: [
      { key: { addr: '10.96.0.10', port: 80, proto: 6, scope: 0 }, svcId: 1, setId: 1, affinityTimeout: 60, flags: 0 },
      {
        key: { addr: '10.250.0.11', port: 30080, proto: 6, scope: 1 },
        svcId: 1,
        setId: 2,
        affinityTimeout: 60,
        flags: 3,
      },
    ],
    sets: new Map([
      [1, all],
      [2, local],
    ]),
    backends: new Map(
      [...new Set([...all, ...local])].map((id) => [id, { addr: `10.244.1.${id}`, port: 80, flags: 0 }]),
    ),
    services: new Map(),
    healthCheck: [],
    conflicts: [],
    refused: [],
  };
}

describeRoot('reconciler on real maps', () => {
  let obj: BpfObject;
  let maps: DataplaneMaps;
  let reconciler: Reconciler;

  beforeAll(() => {
    execFileSync('make', ['-s', '-C', ROOT, 'build/bpf/switchyard.o'], { stdio: 'pipe' });
    silenceLibbpf();
  });
  beforeEach(() => {
    obj = BpfObject.open(`${ROOT}/build/bpf/switchyard.o`);
    maps = dataplaneMaps(obj);
    reconciler = new Reconciler(maps, pino({ level: 'silent' }));
  });
  afterEach(() => obj.close());

  it('prunes an affinity entry whose backend left its set, even while another set keeps that backend', () => {
    reconciler.sync(desired([1, 2], [1]));
    maps.affinity.setMany([
      [
        { setId: 1, clientAddr: CLIENT },
        { lastUsedNs: 1n, backendId: 1 },
      ],
      [
        { setId: 2, clientAddr: CLIENT },
        { lastUsedNs: 1n, backendId: 1 },
      ],
    ]);
    // Backend 1 turns terminating: the "all" set drops it, the "local" set falls back to it.
    reconciler.sync(desired([2], [1]));
    expect(maps.backends.get(1)).toBeDefined();
    expect(maps.affinity.entries().map(([k, v]) => [k.setId, v.backendId])).toEqual([[2, 1]]);
  });

  it('removes a deleted service from every map it wrote', () => {
    reconciler.sync(desired([1, 2], [1]));
    reconciler.sync(desired([], []));
    reconciler.sync({ ...desired([], []), frontends: [], sets: new Map(), backends: new Map() });
    expect([maps.frontends.entries(), maps.slots.entries(), maps.backends.entries()].flat()).toEqual([]);
  });
});
