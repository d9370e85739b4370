// Maps sized at run time: bpf_map__set_max_entries before the load, and a pinned map of another
// size refused with an error that names the setting and both sizes (its entries survive).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, beforeAll, expect, it } from 'vitest';
import { BpfObject, PinnedSizeError, silenceLibbpf, u32, u64 } from '../../src/bpf/index.js';
import { explainPinnedSize, mapSizes } from '../../src/agent/map-sizes.js';
import { describeRoot } from '../lib/root.js';
import { withBpffs } from '../lib/namespaces.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const COUNTER = join(ROOT, 'build/bpf/test_counter.o');
const SWITCHYARD = join(ROOT, 'build/bpf/switchyard.o');

describeRoot('map sizes at run time', () => {
  const cleanups: Array<() => void> = [];
  beforeAll(() => {
    execFileSync('make', ['-s', '-C', ROOT, 'build/bpf/test_counter.o', 'build/bpf/switchyard.o'], { stdio: 'pipe' });
    silenceLibbpf();
  });
  afterEach(() => {
    for (const c of cleanups.splice(0).reverse()) c();
  });

  it('creates the data path maps with the sizes the flags ask for', () => {
    const sizes = mapSizes({ bpfLbMapMax: 16, bpfCtGlobalMax: 4096 });
    const obj = BpfObject.open(SWITCHYARD, { maxEntries: sizes });
    cleanups.push(() => obj.close());
    const got = Object.fromEntries(
      [
        'frontends',
        'affinity',
        'backends',
        'slots',
        'conntrack',
        'frontends6',
        'affinity6',
        'backends6',
        'conntrack6',
      ].map((n) => [n, obj.mapInfo(n).maxEntries]),
    );
    expect(got).toEqual({
      ...{ frontends: 16, affinity: 16, backends: 64, slots: 64, conntrack: 4096 },
      ...{ frontends6: 16, affinity6: 16, backends6: 64, conntrack6: 4096 },
    });
    expect(obj.mapInfo('stats').maxEntries).toBe(65536); // indexed by svc id: stays
  });

  it('refuses a pinned map of another size, naming both sizes, and leaves its entries alone', () => {
    const fs = withBpffs();
    cleanups.push(fs.cleanup);
    const first = BpfObject.open(COUNTER, { pinDir: fs.dir, maxEntries: { big: 1000 } });
    expect(first.mapInfo('big').maxEntries).toBe(1000);
    first.map('big', u32, u64).set(7, 49n);
    first.close();

    let err: unknown;
    try {
      BpfObject.open(COUNTER, { pinDir: fs.dir, maxEntries: { big: 2000 } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PinnedSizeError);
    expect((err as Error).message).toBe(
      `map 'big' is pinned at ${fs.dir}/big with 1000 entries, but 2000 were asked for`,
    );
    // The agent's wording names the flag that sized the map.
    const conntrack = new PinnedSizeError('conntrack', `${fs.dir}/conntrack`, 262144, 4096);
    expect(String(explainPinnedSize(conntrack, fs.dir))).toMatch(
      /^Error: --bpf-ct-global-max: map 'conntrack' is pinned at .* with 262144 entries, but the settings ask for 4096;/,
    );

    const same = BpfObject.open(COUNTER, { pinDir: fs.dir, maxEntries: { big: 1000 } });
    cleanups.push(() => same.close());
    expect(same.map('big', u32, u64).get(7)).toBe(49n);
  });

  it("replaces an older agent's node-settings pin of another layout, and keeps one of the same", () => {
    const pins = withBpffs('sysz');
    cleanups.push(() => pins.cleanup());
    // config and config6 as agents before their pod ranges pinned them: a 4-byte value
    // (snat_addr alone), and a 32-byte one (snat_addr and hairpin_addr).
    const pinOld = (name: string, valueSize: number) =>
      execFileSync('bpftool', [
        ...['map', 'create', join(pins.dir, name), 'type', 'array', 'key', '4'],
        ...['value', String(valueSize), 'entries', '1', 'name', name],
      ]);
    pinOld('config', 4);
    pinOld('config6', 32);
    expect(() => BpfObject.open(SWITCHYARD, { pinDir: pins.dir }).close()).toThrow(/bpf_object__load/);
    const obj = BpfObject.open(SWITCHYARD, { pinDir: pins.dir, replaceStalePins: ['config', 'config6'] });
    expect(obj.replacedPins).toEqual(['config', 'config6']);
    expect(obj.mapInfo('config').valueSize).toBe(12);
    expect(obj.mapInfo('config6').valueSize).toBe(64);
    obj.close();
    const again = BpfObject.open(SWITCHYARD, { pinDir: pins.dir, replaceStalePins: ['config', 'config6'] });
    cleanups.push(() => again.close());
    expect(again.replacedPins).toEqual([]);
  });
});
