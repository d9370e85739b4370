// Maglev's lookup table (Eisenbud et al., "Maglev: A Fast and Reliable Software Network Load
// Balancer", NSDI 2016, section 3.4), computed by the control plane; the data path only indexes it
// by the flow's hash (bpf/maglev.h). Every node must build the same table for the same backends,
// so the table depends only on the backends' names (addr:port, never the node-local backend ids)
// and on their sorted order, not on the order of the EndpointSlices.

/** The paper's recommendation is a size > 100 × the backends; 16381 suits up to ~160 evenly. */
export const DEFAULT_MAGLEV_TABLE_SIZE = 16381;
/** The table is indexed by sy_slot_key.slot (16 bits, 1-based): 65521 is the largest prime below. */
export const MAX_MAGLEV_TABLE_SIZE = 65521;

export function isPrime(n: number): boolean {
  if (!Number.isInteger(n) || n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}

/** MurmurHash3 x86_32 of the UTF-8 bytes of @text: well spread, and the same on every node. */
export function murmur3(text: string, seed: number): number {
  const bytes = Buffer.from(text, 'utf8');
  let h = seed >>> 0;
  const c1 = 0xcc9e2d51,
    c2 = 0x1b873593;
  const mixK = (k: number) => Math.imul((Math.imul(k, c1) << 15) | (Math.imul(k, c1) >>> 17), c2);
  let i = 0;
  for (; i + 4 <= bytes.length; i += 4) {
    h ^= mixK(bytes.readUInt32LE(i));
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  let k = 0;
  for (let j = bytes.length - 1; j >= i; j--) k = (k << 8) | bytes[j]!;
  if (bytes.length > i) h ^= mixK(k);
  h ^= bytes.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The lookup table of @size (a prime) entries for @names (distinct): entry i holds the index into
 * @names of the backend it maps to. Each backend walks its own permutation of the table
 * (offset + j·skip mod size; skip ≠ 0 and size prime make it a permutation) and, in turns, takes
 * its next entry still free, so every backend gets ⌊size/N⌋ or ⌈size/N⌉ entries, and a backend
 * leaving disturbs few entries besides its own. Empty @names: an empty table.
 */
export function maglevTable(names: readonly string[], size: number): number[] {
  if (!isPrime(size) || size > MAX_MAGLEV_TABLE_SIZE) {
    throw new Error(`maglev table size must be a prime ≤ ${MAX_MAGLEV_TABLE_SIZE} (got ${size})`);
  }
  const n = names.length;
  if (n === 0) return [];
  // Turns go in name order, so the table is the same whatever order the names came in.
  const order = names.map((name, i) => ({ name, i })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const skip = new Uint32Array(n);
  const next = new Uint32Array(n); // each backend's current position in its permutation
  order.forEach(({ name }, k) => {
    next[k] = murmur3(name, 0x5f3759df) % size;
    skip[k] = (murmur3(name, 0x2545f491) % (size - 1)) + 1;
  });
  const entry = new Int32Array(size).fill(-1);
  let filled = 0;
  for (;;) {
    for (let k = 0; k < n; k++) {
      let c = next[k]!;
      while (entry[c] !== -1) c = (c + skip[k]!) % size;
      entry[c] = order[k]!.i;
      next[k] = (c + skip[k]!) % size;
      if (++filled === size) return Array.from(entry);
    }
  }
}
