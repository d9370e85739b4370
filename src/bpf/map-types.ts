// BPF map types as the kernel numbers them, which of them are per-CPU, arrays or fill up, and the
// number of possible CPUs (the length of every per-CPU value).
import { BpfError } from './errors.js';
import * as ffi from './ffi.js';

export const MAP_TYPE = {
  HASH: 1,
  ARRAY: 2,
  PERCPU_HASH: 5,
  PERCPU_ARRAY: 6,
  LRU_HASH: 9,
  LRU_PERCPU_HASH: 10,
  LPM_TRIE: 11,
} as const;
const PERCPU_TYPES = new Set([5, 6, 10, 21]);
export const ARRAY_TYPES = new Set([2, 6]);
/** Map types whose inserts fail once max_entries is reached (LRU maps evict instead). */
export const FILLABLE_TYPES = new Set([1, 5, 11]);
export const isPercpuType = (type: number) => PERCPU_TYPES.has(type);

let cpus = 0;
/** Possible CPUs (libbpf_num_possible_cpus): the length of every per-CPU value array. */
export function possibleCpus(): number {
  if (!cpus) {
    const n = ffi.numPossibleCpus();
    if (n <= 0) throw new BpfError('libbpf_num_possible_cpus', 'system', n);
    cpus = n;
  }
  return cpus;
}

export interface MapInfo {
  name: string;
  fd: number;
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
}
