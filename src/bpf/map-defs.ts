// The map definitions a compiled object carries, read by opening it without loading it (no kernel
// call, no root): the shape a pin must have for libbpf to reuse it at load (type, key and value
// size, max_entries, flags). A pin of another shape fails the load, so the pin-shape guard
// (test/kernel/pinned-maps.test.ts) compares these with a golden file to catch a change before an
// upgraded agent meets an older agent's pins.
import { BpfError } from './errors.js';
import * as ffi from './ffi.js';

export interface MapDef {
  name: string;
  /** The kernel's enum bpf_map_type, by name (PROG_ARRAY), or the number when not in the table. */
  type: string;
  keySize: number;
  valueSize: number;
  /** As compiled: maps sized at run time (bpf_map__set_max_entries) show their default here. */
  maxEntries: number;
  flags: number;
}

/** enum bpf_map_type, in the kernel's order (index = value). */
const MAP_TYPE_NAMES = (
  'UNSPEC HASH ARRAY PROG_ARRAY PERF_EVENT_ARRAY PERCPU_HASH PERCPU_ARRAY STACK_TRACE ' +
  'CGROUP_ARRAY LRU_HASH LRU_PERCPU_HASH LPM_TRIE ARRAY_OF_MAPS HASH_OF_MAPS DEVMAP SOCKMAP ' +
  'CPUMAP XSKMAP SOCKHASH CGROUP_STORAGE REUSEPORT_SOCKARRAY PERCPU_CGROUP_STORAGE QUEUE ' +
  'STACK SK_STORAGE DEVMAP_HASH STRUCT_OPS RINGBUF INODE_STORAGE TASK_STORAGE BLOOM_FILTER ' +
  'USER_RINGBUF CGRP_STORAGE'
).split(' ');

/** Whether BpfObject.open pins map `m` under its pin directory: all but libbpf's .data/.rodata/.bss.
 *  One predicate for both, so the guard lists exactly the maps the agent pins. */
export const isPinnedMap = (m: ffi.Ptr): boolean => !ffi.mapIsInternal(m);

/** The definitions of the maps BpfObject.open would pin from the object at `path`, in ELF order. */
export function pinnedMapDefs(path: string): MapDef[] {
  const obj = ffi.objectOpenFile(path);
  if (typeof obj === 'number') throw new BpfError('bpf_object__open_file', path, obj);
  try {
    const out: MapDef[] = [];
    for (let m = ffi.objectNextMap(obj, null); m; m = ffi.objectNextMap(obj, m)) {
      if (!isPinnedMap(m)) continue;
      const type = ffi.mapType(m);
      out.push({
        name: ffi.mapName(m),
        type: MAP_TYPE_NAMES[type] ?? String(type),
        keySize: ffi.mapKeySize(m),
        valueSize: ffi.mapValueSize(m),
        maxEntries: ffi.mapMaxEntries(m),
        flags: ffi.mapFlags(m),
      });
    }
    return out;
  } finally {
    ffi.objectClose(obj);
  }
}
