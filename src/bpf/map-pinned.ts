// Maps opened from their bpffs pins (inspect, explain, tests), and the size check every opened
// map passes: a codec whose size differs from the map's would read and write garbage.
import { existsSync, readFileSync } from 'node:fs';
import type { Codec } from './codec.js';
import { BpfError, EINVAL } from './errors.js';
import * as ffi from './ffi.js';
import { PercpuMap, TypedMap, type MapInfo } from './map.js';
import { isPercpuType } from './map-types.js';

/** Checks codec sizes against the map's; a mismatch names the map, the codec and both sizes. */
export function checkSizes(info: MapInfo, key: Codec<unknown>, value: Codec<unknown>, call: string): void {
  const name = (c: Codec<unknown>) => (c as { cName?: string }).cName ?? 'codec';
  for (const [what, c, size] of [
    ['key', key, info.keySize],
    ['value', value, info.valueSize],
  ] as const) {
    if (c.size !== size) {
      throw new BpfError(
        call,
        `map '${info.name}'`,
        EINVAL,
        `${call}(map '${info.name}'): ${what} size mismatch: codec ${name(c)} is ${c.size} bytes, the map's ${what} is ${size} bytes`,
      );
    }
  }
}

function openPinned(path: string): MapInfo {
  const fd = ffi.objGet(path);
  if (fd < 0) throw new BpfError('bpf_obj_get', path, fd);
  let fdinfo = '';
  try {
    fdinfo = readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
  } catch {
    /* checked below */
  }
  if (!/^map_type:/m.test(fdinfo)) {
    ffi.closeFd(fd);
    throw new BpfError('bpf_obj_get', path, EINVAL, `bpf_obj_get(${path}): not a BPF map`);
  }
  const info = Buffer.alloc(88);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(info.length, 0);
  const ret = ffi.objGetInfoByFd(fd, info, len);
  if (ret < 0) {
    ffi.closeFd(fd);
    throw new BpfError('bpf_obj_get_info_by_fd', path, ret);
  }
  const nameEnd = info.indexOf(0, 24);
  return {
    fd,
    type: info.readUInt32LE(0),
    keySize: info.readUInt32LE(8),
    valueSize: info.readUInt32LE(12),
    maxEntries: info.readUInt32LE(16),
    name: info.toString('latin1', 24, nameEnd >= 24 && nameEnd < 40 ? nameEnd : 40),
  };
}

function openPinnedAs<M>(
  path: string,
  key: Codec<unknown>,
  value: Codec<unknown>,
  percpu: boolean,
  make: (info: MapInfo) => M,
): M {
  const info = openPinned(path);
  try {
    if (isPercpuType(info.type) !== percpu) {
      throw new BpfError(
        'bpf_obj_get',
        path,
        EINVAL,
        `bpf_obj_get(${path}): map '${info.name}' is ${percpu ? 'not ' : ''}a per-CPU map; use ${percpu ? 'openPinnedMap' : 'openPinnedPercpuMap'}`,
      );
    }
    checkSizes(info, key, value, 'bpf_obj_get');
    return make(info);
  } catch (err) {
    ffi.closeFd(info.fd);
    throw err;
  }
}

/** The key and value sizes of the map pinned at `path`; undefined when nothing is pinned there. */
export function pinnedMapSizes(path: string): { keySize: number; valueSize: number } | undefined {
  if (!existsSync(path)) return undefined;
  const info = openPinned(path);
  ffi.closeFd(info.fd);
  return { keySize: info.keySize, valueSize: info.valueSize };
}

/** Opens a pinned map without its object (e.g. to inspect a stopped agent). close() releases the fd. */
export function openPinnedMap<K, V>(path: string, key: Codec<K>, value: Codec<V>): TypedMap<K, V> {
  return openPinnedAs(path, key, value, false, (info) => new TypedMap(info, key, value, true));
}

export function openPinnedPercpuMap<K, V>(path: string, key: Codec<K>, value: Codec<V>): PercpuMap<K, V> {
  return openPinnedAs(path, key, value, true, (info) => new PercpuMap(info, key, value, true));
}
