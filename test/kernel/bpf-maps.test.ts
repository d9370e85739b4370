// Issue 2 acceptance: loading an object, typed maps (batched writes and reads, per-CPU values, map
// types without batch ops), pinning that survives a reopen, and clear errors that leave nothing behind.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  BpfError,
  BpfObject,
  bytes,
  CodecError,
  ensureBpffs,
  openPinnedMap,
  openPinnedPercpuMap,
  possibleCpus,
  silenceLibbpf,
  u32,
  u64,
} from '../../src/bpf/index.js';
import * as layouts from '../../src/abi/layouts.js';
import { describeRoot } from '../lib/root.js';
import { withBpffs } from '../lib/namespaces.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const OBJ = join(ROOT, 'build/bpf/test_counter.o');
const MAP_NAMES = ['stats', 'totals', 'big', 'small', 'lpm'];
// A fresh bpffs holds the kernel's preloaded maps.debug/progs.debug iterators: not ours.
const pins = (dir: string) =>
  readdirSync(dir)
    .filter((n) => n !== 'maps.debug' && n !== 'progs.debug')
    .sort();
const zeroStats = { packets: 0n, bytes: 0n, newFlows: 0n, noBackend: 0n };

describeRoot('typed libbpf layer: objects and maps', () => {
  let obj: BpfObject;
  const cleanups: Array<() => void> = [];

  beforeAll(() => {
    execFileSync('make', ['-s', '-C', ROOT, 'build/bpf/test_counter.o'], { stdio: 'pipe' });
    silenceLibbpf();
    obj = BpfObject.open(OBJ);
  });
  afterAll(() => {
    obj?.close();
    for (const c of cleanups.reverse()) c();
  });

  it('loads the object and lists its programs and maps', () => {
    expect(obj.path).toBe(OBJ);
    expect(obj.programNames().sort()).toEqual(['count_tc', 'xdp_count', 'xdp_swap']);
    expect(obj.mapNames()).toEqual(expect.arrayContaining(MAP_NAMES));
    expect(obj.program('count_tc').fd).toBeGreaterThan(0);
    expect(() => obj.program('nope')).toThrow(/bpf_object__find_program_by_name\(program 'nope'\): no such program/);
    expect(() => obj.map('nope', u32, u64)).toThrow(/map 'nope'.*no such map/);
  });

  it('writes 10,000 entries with one setMany and reads them back with entries()', () => {
    const big = obj.map('big', u32, u64);
    expect(big.maxEntries).toBe(16384);
    const want: Array<[number, bigint]> = [];
    for (let i = 0; i < 10_000; i++) want.push([i * 7 + 1, BigInt(i) * 1_000_000_007n]);
    big.setMany(want);
    const got = big.entries().sort((a, b) => a[0] - b[0]);
    expect(got.length).toBe(10_000);
    expect(got).toEqual(want);
    expect(big.get(7 * 42 + 1)).toBe(42n * 1_000_000_007n);
    expect(big.get(2)).toBeUndefined();
    // single-element operations and flags
    big.set(2, 5n, 'noexist');
    expect(() => big.set(2, 6n, 'noexist')).toThrow(/bpf_map_update_elem\(map 'big'\): File exists \(EEXIST\)/);
    expect(() => big.set(3, 6n, 'exist')).toThrow(/ENOENT/);
    expect(big.delete(2)).toBe(true);
    expect(big.delete(2)).toBe(false);
    // batch delete skips absent keys, and names them when asked
    const absent: number[] = [];
    expect(big.deleteMany([1, 2, 8, 999_999, 15], absent)).toBe(3);
    expect(absent).toEqual([2, 999_999]);
    expect(big.keys().length).toBe(9_997);
    big.clear();
    expect(big.entries()).toEqual([]);
  });

  it('a full hash map is a BpfError naming the map and its size', () => {
    const small = obj.map('small', u32, u64);
    const entries: Array<[number, bigint]> = Array.from({ length: 12 }, (_, i) => [i, BigInt(i)]);
    let err: unknown;
    try {
      small.setMany(entries);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BpfError);
    expect((err as BpfError).message).toMatch(/map 'small' is full \(max 8\)/);
    expect((err as BpfError).call).toBe('bpf_map_update_batch');
    expect(small.entries().length).toBe(8);
    expect(() => small.set(100, 1n)).toThrow(/bpf_map_update_elem\(map 'small'\): map 'small' is full \(max 8\)/);
    small.clear();
  });

  it('reads a map type without batch ops (LPM trie) through get_next_key', () => {
    const lpm = obj.map('lpm', bytes(8), u32);
    const key = (len: number, a: number) => {
      const b = Buffer.alloc(8);
      b.writeUInt32LE(len, 0);
      b.writeUInt32BE(a, 4);
      return b;
    };
    lpm.setMany([
      [key(24, 0x0a000000), 1],
      [key(16, 0x0a010000), 2],
      [key(32, 0x0a020304), 3],
    ]);
    const got = lpm
      .entries()
      .map(([k, v]) => [k.readUInt32LE(0), v])
      .sort();
    expect(got).toEqual([
      [16, 2],
      [24, 1],
      [32, 3],
    ]);
    expect(lpm.deleteMany([key(24, 0x0a000000), key(8, 0x0b000000)])).toBe(1);
    expect(lpm.entries().length).toBe(2);
  });

  it('writes entries a caller encodes itself (setEachEncoded), batched and where batches are missing', () => {
    const big = obj.map('big', u32, u64);
    big.setEachEncoded(10_000, (i, keys, keyOff, vals, valOff) => {
      keys.writeUInt32LE(i * 3 + 1, keyOff);
      vals.writeBigUInt64LE(BigInt(i) * 11n, valOff);
    });
    expect(big.keys().length).toBe(10_000);
    expect([big.get(1), big.get(3 * 9_999 + 1), big.get(2)]).toEqual([0n, 9_999n * 11n, undefined]);
    big.clear();
    // The LPM trie has no batch update: each entry is encoded into the single-entry buffers.
    const lpm = obj.map('lpm', bytes(8), u32);
    lpm.clear(); // what the test before left
    lpm.setEachEncoded(3, (i, keys, keyOff, vals, valOff) => {
      keys.writeUInt32LE(32, keyOff);
      keys.writeUInt32BE(0x0a090000 + i, keyOff + 4);
      vals.writeUInt32LE(100 + i, valOff);
    });
    const got = lpm
      .entries()
      .map(([k, v]) => [k.readUInt32BE(4), v])
      .sort((a, b) => a[0]! - b[0]!);
    expect(got).toEqual([
      [0x0a090000, 100],
      [0x0a090001, 101],
      [0x0a090002, 102],
    ]);
    lpm.clear();
  });

  it('per-CPU maps hold one value per possible CPU', () => {
    const stats = obj.percpuMap('stats', u32, layouts.stats);
    const n = possibleCpus();
    expect(stats.cpus).toBe(n);
    const vals = Array.from({ length: n }, (_, i) => ({ ...zeroStats, packets: BigInt(i + 1), bytes: 100n }));
    stats.set(2, vals);
    expect(stats.get(2)).toEqual(vals);
    expect(stats.entries().length).toBe(4); // arrays: every index exists
    expect(stats.entries()[2]).toEqual([2, vals]);
    expect(() => stats.set(1, vals.slice(1))).toThrow(/one per possible CPU/);
    expect(() => obj.map('stats', u32, layouts.stats)).toThrow(/map is per-CPU; use percpuMap\(\)/);
    stats.clear();
    expect(stats.get(2)).toEqual(Array(n).fill(zeroStats));
    stats.setMany([
      [1, vals],
      [3, vals],
    ]);
    stats.zeroMany([3]);
    expect(stats.get(1)).toEqual(vals);
    expect(stats.get(3)).toEqual(Array(n).fill(zeroStats));
    stats.clear();
  });

  it('rejects codecs whose sizes do not match the map, and values that do not fit', () => {
    expect(() => obj.map('big', u64, u64)).toThrow(
      /BpfObject.map\(map 'big'\): key size mismatch: codec __u64 is 8 bytes, the map's key is 4 bytes/,
    );
    expect(() => obj.map('big', u32, layouts.stats)).toThrow(
      /value size mismatch: codec sy_stats is 32 bytes, the map's value is 8 bytes/,
    );
    const big = obj.map('big', u32, u64);
    expect(() => big.set(1, 'x' as never)).toThrow(CodecError);
    expect(() => big.set(-1, 1n)).toThrow(/__u32: expected an integer/);
    expect(() => u64.encode(1n, Buffer.alloc(4))).toThrow(/__u64: encode needs 8 bytes at offset 0, buffer has 4/);
    const raw = obj.map('big', u32, bytes(8));
    expect(() => raw.set(1, Buffer.alloc(5))).toThrow(/expected a Buffer of 8 bytes, got 5/);
    expect(big.get(1)).toBeUndefined(); // nothing was written
  });

  it('pinned maps survive closing and reopening the object; openPinnedMap reads them', () => {
    const fs = withBpffs();
    cleanups.push(fs.cleanup);
    const first = BpfObject.open(OBJ, { pinDir: fs.dir });
    expect(pins(fs.dir)).toEqual(expect.arrayContaining(MAP_NAMES));
    // libbpf's internal maps (.rodata here) are not pinned: a reused .rodata would keep stale constants.
    expect(first.mapNames().some((n) => n.endsWith('.rodata'))).toBe(true);
    expect(pins(fs.dir).filter((n) => n.includes('.'))).toEqual([]);
    const want: Array<[number, bigint]> = Array.from({ length: 1000 }, (_, i) => [i, BigInt(i * i)]);
    first.map('big', u32, u64).setMany(want);
    const n = possibleCpus();
    const vals = Array.from({ length: n }, (_, i) => ({ ...zeroStats, bytes: BigInt(i) }));
    first.percpuMap('stats', u32, layouts.stats).set(3, vals);
    first.close();
    first.close(); // idempotent

    const second = BpfObject.open(OBJ, { pinDir: fs.dir });
    try {
      expect(
        second
          .map('big', u32, u64)
          .entries()
          .sort((a, b) => a[0] - b[0]),
      ).toEqual(want);
      expect(second.percpuMap('stats', u32, layouts.stats).get(3)).toEqual(vals);
    } finally {
      second.close();
    }

    const pinned = openPinnedMap(join(fs.dir, 'big'), u32, u64);
    try {
      expect(pinned.name).toBe('big');
      expect(pinned.maxEntries).toBe(16384);
      expect(pinned.entries().length).toBe(1000);
      expect(pinned.get(30)).toBe(900n);
    } finally {
      pinned.close();
    }
    const pstats = openPinnedPercpuMap(join(fs.dir, 'stats'), u32, layouts.stats);
    expect(pstats.get(3)).toEqual(vals);
    pstats.close();
    expect(() => openPinnedMap(join(fs.dir, 'stats'), u32, layouts.stats)).toThrow(
      /is a per-CPU map; use openPinnedPercpuMap/,
    );
    expect(() => openPinnedMap(join(fs.dir, 'big'), u32, layouts.stats)).toThrow(
      /bpf_obj_get\(map 'big'\): value size mismatch/,
    );
    expect(() => openPinnedMap(join(fs.dir, 'nope'), u32, u64)).toThrow(
      new RegExp(`bpf_obj_get\\(${fs.dir}/nope\\): No such file or directory \\(ENOENT\\)`),
    );
  });

  it('a missing object file is a BpfError naming the call and path; nothing is pinned', () => {
    const fs = withBpffs();
    cleanups.push(fs.cleanup);
    const missing = `/tmp/sy-missing-${process.pid}-${randomBytes(4).toString('hex')}.o`;
    expect(() => BpfObject.open(missing, { pinDir: fs.dir })).toThrow(
      `bpf_object__open_file(${missing}): No such file or directory (ENOENT)`,
    );
    expect(pins(fs.dir)).toEqual([]);
  });

  it('a corrupt object file is a BpfError naming the call and path; nothing is pinned', () => {
    const fs = withBpffs();
    cleanups.push(fs.cleanup);
    const tmp = mkdtempSync(join(tmpdir(), 'sy-corrupt-'));
    cleanups.push(() => rmSync(tmp, { recursive: true, force: true }));
    const bad = join(tmp, 'random.o');
    writeFileSync(bad, randomBytes(4096));
    let err: unknown;
    try {
      BpfObject.open(bad, { pinDir: fs.dir });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BpfError);
    expect((err as BpfError).call).toBe('bpf_object__open_file');
    expect((err as BpfError).message).toContain(`bpf_object__open_file(${bad}):`);
    expect(pins(fs.dir)).toEqual([]);
  });

  it('a load that fails part way (an incompatible pin) unpins what it pinned', () => {
    const fs = withBpffs();
    cleanups.push(fs.cleanup);
    // A 'big' pin with the wrong key size: libbpf refuses to reuse it, after pinning stats and totals.
    execFileSync('bpftool', [
      'map',
      'create',
      join(fs.dir, 'big'),
      'type',
      'hash',
      'key',
      '8',
      'value',
      '8',
      'entries',
      '4',
      'name',
      'big',
    ]);
    expect(() => BpfObject.open(OBJ, { pinDir: fs.dir })).toThrow(/^bpf_object__load\(.*test_counter\.o\): /);
    expect(pins(fs.dir)).toEqual(['big']);
  });

  it('a pin directory that is not on bpffs is refused, naming it; nothing is created', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'sy-notbpffs-'));
    cleanups.push(() => rmSync(tmp, { recursive: true, force: true }));
    expect(() => BpfObject.open(OBJ, { pinDir: tmp })).toThrow(`pin directory ${tmp} is not on bpffs`);
    expect(() => ensureBpffs(join(tmp, 'sub'), { mountIfMissing: false })).toThrow(
      `pin directory ${join(tmp, 'sub')} is not on bpffs`,
    );
    expect(readdirSync(tmp)).toEqual(['sub']); // ensureBpffs did mkdir -p, nothing else
    expect(readdirSync(join(tmp, 'sub'))).toEqual([]);
  });

  it('ensureBpffs mounts a bpffs when allowed and accepts an existing one', () => {
    const dir = `/run/sy-test-ens-${process.pid}-${randomBytes(4).toString('hex')}`;
    cleanups.push(() => {
      try {
        execFileSync('umount', [dir], { stdio: 'pipe' });
      } catch {
        /* not mounted */
      }
      rmSync(dir, { recursive: true, force: true });
    });
    ensureBpffs(dir, { mountIfMissing: true });
    ensureBpffs(dir, { mountIfMissing: false }); // now bpffs: fine
    const o = BpfObject.open(OBJ, { pinDir: dir });
    o.close();
    expect(pins(dir)).toEqual(expect.arrayContaining(MAP_NAMES));
  });

  it('a closed object refuses further use', () => {
    const o = BpfObject.open(OBJ);
    o.close();
    expect(() => o.program('count_tc')).toThrow(/is closed/);
    expect(() => o.map('big', u32, u64)).toThrow(/is closed/);
  });
});
