// Maglev's lookup table: even shares, little disruption, and the same table on every node.
import { describe, expect, it } from 'vitest';
import { DEFAULT_MAGLEV_TABLE_SIZE, isPrime, maglevTable, murmur3 } from '../../src/compile/maglev.js';

const M = DEFAULT_MAGLEV_TABLE_SIZE;
const backends = (n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => `10.244.${(i + from) >> 8}.${(i + from) & 255}:8080`);
const named = (names: string[], table: number[]) => table.map((i) => names[i]!);

describe('maglev table', () => {
  it('gives each backend its share of the table within ±1%', () => {
    for (const n of [1, 3, 10, 64, 100]) {
      const names = backends(n);
      const counts = new Map<string, number>();
      for (const name of named(names, maglevTable(names, M))) counts.set(name, (counts.get(name) ?? 0) + 1);
      expect(counts.size).toBe(n);
      for (const c of counts.values()) expect(Math.abs(c - M / n)).toBeLessThanOrEqual(Math.max(1, 0.01 * (M / n)));
    }
  });

  it("moves at most 12% of the other backends' entries when 1 of 10 leaves", () => {
    const ten = backends(10);
    for (const gone of [0, 4, 9]) {
      const before = named(ten, maglevTable(ten, M));
      const nine = ten.filter((_, i) => i !== gone);
      const after = named(nine, maglevTable(nine, M));
      const moved = before.filter((name, i) => name !== ten[gone] && after[i] !== name).length;
      expect(moved / M).toBeLessThanOrEqual(0.12);
      expect(after).not.toContain(ten[gone]); // and the leaver's entries all went elsewhere
    }
  });

  it('is the same table whatever order the backends come in', () => {
    const names = backends(25);
    const reference = named(names, maglevTable(names, M));
    const shuffled = [...names].reverse();
    shuffled.push(shuffled.splice(3, 1)[0]!);
    expect(named(shuffled, maglevTable(shuffled, M))).toEqual(reference);
  });

  it("depends on the backends' names: other backends, another table", () => {
    const a = named(backends(5), maglevTable(backends(5), 101));
    const b = named(backends(5, 7), maglevTable(backends(5, 7), 101));
    expect(a.map((x) => x.slice(0, -5))).not.toEqual(b.map((x) => x.slice(0, -5)));
  });

  it('is empty without backends and refuses a size that is not a prime', () => {
    expect(maglevTable([], M)).toEqual([]);
    expect(() => maglevTable(['a'], 16384)).toThrow(/prime.*16384/);
    expect(() => maglevTable(['a'], 65537)).toThrow(/prime ≤ 65521/);
    expect(isPrime(16381) && isPrime(65521) && !isPrime(1) && !isPrime(65535)).toBe(true);
  });

  it('benchmark: builds a table for 1,000 backends in well under a second', () => {
    const names = backends(1000);
    for (const size of [M, 65521]) {
      const started = performance.now();
      const table = maglevTable(names, size);
      const ms = performance.now() - started;
      console.log(`bench: maglev table of ${size} entries for 1000 backends built in ${ms.toFixed(1)} ms`);
      expect(new Set(table).size).toBe(1000);
      expect(ms).toBeLessThan(1000);
    }
  });

  it('hashes like MurmurHash3 x86_32 (reference vectors)', () => {
    expect(murmur3('', 0)).toBe(0);
    expect(murmur3('', 1)).toBe(0x514e28b7);
    expect(murmur3('hello', 0)).toBe(0x248bfa47);
    expect(murmur3('Hello, world!', 1234)).toBe(0xfaf6cdb3);
  });
});
