// BpfObject: open + load a compiled BPF object, optionally with every map pinned under a bpffs
// directory (existing pins are reused by libbpf, so map contents survive restarts).
import { mkdirSync, unlinkSync } from 'node:fs';
import type { Codec } from './codec.js';
import { BpfError, EINVAL, ENOENT } from './errors.js';
import * as ffi from './ffi.js';
import { isPercpuType, PercpuMap, TypedMap, type MapInfo } from './map.js';
import { isPinnedMap } from './map-defs.js';
import { checkSizes, pinnedMapSizes } from './map-pinned.js';

export interface BpfProgram {
  readonly name: string;
  readonly fd: number;
}

const BPF_FS_MAGIC = 0xcafe4a11;

/** The kernel's id of a loaded program (what tc/XDP queries report), via bpf_obj_get_info_by_fd. */
export function programId(prog: BpfProgram): number {
  const info = Buffer.alloc(8); // struct bpf_prog_info starts with type, id
  const len = Buffer.alloc(4);
  len.writeUInt32LE(info.length, 0);
  const ret = ffi.objGetInfoByFd(prog.fd, info, len);
  if (ret < 0) throw new BpfError('bpf_obj_get_info_by_fd', `program '${prog.name}'`, ret);
  return info.readUInt32LE(4);
}

/** True when `dir` is on a bpffs mount. */
export function isBpffs(dir: string): boolean {
  const buf = Buffer.alloc(120);
  const ret = ffi.statfs(dir, buf);
  if (ret < 0) throw new BpfError('statfs', dir, ret);
  return buf.readUInt32LE(0) === BPF_FS_MAGIC;
}

/** mkdir -p `dir`; when it is not on bpffs, mount one there if allowed, else BpfError. */
export function ensureBpffs(dir: string, opts: { mountIfMissing: boolean }): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new BpfError('mkdir', dir, -(e.errno ?? -EINVAL), `mkdir(${dir}): ${e.message}`);
  }
  if (isBpffs(dir)) return;
  if (!opts.mountIfMissing) throw notBpffs(dir);
  const ret = ffi.mount('bpf', dir, 'bpf', 0);
  if (ret < 0) throw new BpfError('mount', dir, ret);
  if (!isBpffs(dir)) throw notBpffs(dir);
}

const notBpffs = (dir: string) =>
  new BpfError('statfs', dir, EINVAL, `pin directory ${dir} is not on bpffs (mount -t bpf bpf ${dir})`);

interface MapEntry {
  ptr: ffi.Ptr;
  info: MapInfo;
}

/** A map is pinned with another size than asked for: libbpf cannot reuse it, and replacing it
 *  would drop its entries (established flows). The caller decides (name the setting, or migrate). */
export class PinnedSizeError extends BpfError {
  constructor(
    readonly map: string,
    readonly pinPath: string,
    readonly pinned: number,
    readonly requested: number,
  ) {
    super(
      'bpf_map__set_max_entries',
      `map '${map}'`,
      EINVAL,
      `map '${map}' is pinned at ${pinPath} with ${pinned} entries, but ${requested} were asked for`,
    );
    this.name = 'PinnedSizeError';
  }
}

/** max_entries of the map pinned at @path; undefined when nothing is pinned there. */
function pinnedMaxEntries(path: string): number | undefined {
  const fd = ffi.objGet(path);
  if (fd === -ENOENT) return undefined;
  if (fd < 0) throw new BpfError('bpf_obj_get', path, fd);
  try {
    const info = Buffer.alloc(24); // struct bpf_map_info: type, id, key_size, value_size, max_entries, map_flags
    const len = Buffer.alloc(4);
    len.writeUInt32LE(info.length, 0);
    const ret = ffi.objGetInfoByFd(fd, info, len);
    if (ret < 0) throw new BpfError('bpf_obj_get_info_by_fd', path, ret);
    return info.readUInt32LE(16);
  } finally {
    ffi.closeFd(fd);
  }
}

export class BpfObject {
  readonly path: string;
  readonly pinDir: string | undefined;
  private obj: ffi.Ptr | null;
  private readonly maps = new Map<string, MapEntry>();
  private readonly programs = new Map<string, BpfProgram>();
  /** Pins removed at open for another layout (opts.replaceStalePins). */
  readonly replacedPins: string[] = [];
  private readonly views = new Map<string, { key: Codec<unknown>; value: Codec<unknown>; view: unknown }>();

  private constructor(path: string, pinDir: string | undefined, obj: ffi.Ptr) {
    this.path = path;
    this.pinDir = pinDir;
    this.obj = obj;
  }

  /**
   * Opens and loads the object at `path`. With `pinDir` (which must be on bpffs), every map except
   * libbpf's internal .data/.rodata/.bss maps is pinned at <pinDir>/<mapName>; a pin that already exists
   * is reused with its contents. On any failure the object is closed and no pin is left behind.
   * `maxEntries` sizes maps at run time (map name → entries); a pin of another size is refused
   * with a PinnedSizeError rather than left to libbpf's bare EINVAL.
   */
  static open(
    path: string,
    opts: {
      pinDir?: string;
      maxEntries?: Readonly<Record<string, number>>;
      /** Maps the caller writes whole again before any program uses them (the node's settings):
       *  a pin of another key or value size, an older agent's layout, is removed before the load
       *  rather than refused, and libbpf pins a new map. Listed in `replacedPins`. */
      replaceStalePins?: readonly string[];
    } = {},
  ): BpfObject {
    const pinDir = opts.pinDir?.replace(/\/+$/, '') || undefined;
    if (pinDir !== undefined && !isBpffs(pinDir)) throw notBpffs(pinDir);
    const obj = ffi.objectOpenFile(path);
    if (typeof obj === 'number') throw new BpfError('bpf_object__open_file', path, obj);
    const self = new BpfObject(path, pinDir, obj);
    try {
      for (let m = ffi.objectNextMap(obj, null); m; m = ffi.objectNextMap(obj, m)) {
        const name = ffi.mapName(m);
        if (pinDir !== undefined && isPinnedMap(m)) {
          const ret = ffi.mapSetPinPath(m, `${pinDir}/${name}`);
          if (ret < 0) throw new BpfError('bpf_map__set_pin_path', `map '${name}'`, ret);
        }
        self.maps.set(name, { ptr: m, info: { name, fd: -1, type: 0, keySize: 0, valueSize: 0, maxEntries: 0 } });
      }
      for (const [name, n] of Object.entries(opts.maxEntries ?? {})) self.resize(name, n);
      for (const name of opts.replaceStalePins ?? []) if (self.unpinIfStale(name)) self.replacedPins.push(name);
      // libbpf unpins the maps it pinned itself if the load fails part way.
      const ret = ffi.objectLoad(obj);
      if (ret < 0) throw new BpfError('bpf_object__load', path, ret);
      for (const [name, e] of self.maps) {
        e.info = {
          name,
          fd: ffi.mapFd(e.ptr),
          type: ffi.mapType(e.ptr),
          keySize: ffi.mapKeySize(e.ptr),
          valueSize: ffi.mapValueSize(e.ptr),
          maxEntries: ffi.mapMaxEntries(e.ptr),
        };
      }
      for (let p = ffi.objectNextProgram(obj, null); p; p = ffi.objectNextProgram(obj, p)) {
        const name = ffi.programName(p);
        self.programs.set(name, Object.freeze({ name, fd: ffi.programFd(p) }));
      }
    } catch (err) {
      self.close();
      throw err;
    }
    return self;
  }

  /** Removes map `name`'s pin when its key or value size is not the object's; true if it did. */
  private unpinIfStale(name: string): boolean {
    const e = this.maps.get(name);
    const pin = this.pinPath(name);
    const pinned = pin === undefined ? undefined : pinnedMapSizes(pin);
    if (!e || !pinned) return false;
    if (pinned.keySize === ffi.mapKeySize(e.ptr) && pinned.valueSize === ffi.mapValueSize(e.ptr)) return false;
    unlinkSync(pin!);
    return true;
  }

  /** bpf_map__set_max_entries before the load, after checking a pin that libbpf would reuse. */
  private resize(name: string, entries: number): void {
    const e = this.entry(name, 'bpf_map__set_max_entries');
    const pin = this.pinPath(name);
    const pinned = pin === undefined ? undefined : pinnedMaxEntries(pin);
    if (pinned !== undefined && pinned !== entries) throw new PinnedSizeError(name, pin!, pinned, entries);
    const ret = ffi.mapSetMaxEntries(e.ptr, entries);
    if (ret < 0) throw new BpfError('bpf_map__set_max_entries', `map '${name}' (${entries} entries)`, ret);
  }

  programNames(): string[] {
    return [...this.programs.keys()];
  }

  mapNames(): string[] {
    return [...this.maps.keys()];
  }

  program(name: string): BpfProgram {
    this.live('program');
    const p = this.programs.get(name);
    if (!p) {
      throw new BpfError(
        'bpf_object__find_program_by_name',
        `program '${name}'`,
        ENOENT,
        `bpf_object__find_program_by_name(program '${name}'): no such program in ${this.path} (has: ${this.programNames().join(', ')})`,
      );
    }
    return p;
  }

  /** Where map `name` is pinned, when the object was opened with a pinDir. */
  pinPath(name: string): string | undefined {
    return this.pinDir === undefined ? undefined : `${this.pinDir}/${name}`;
  }

  private entry(name: string, call: string): MapEntry {
    this.live(call);
    const e = this.maps.get(name);
    if (!e) {
      throw new BpfError(
        call,
        `map '${name}'`,
        ENOENT,
        `${call}(map '${name}'): no such map in ${this.path} (has: ${this.mapNames().join(', ')})`,
      );
    }
    return e;
  }

  private view<M>(
    name: string,
    key: Codec<unknown>,
    value: Codec<unknown>,
    percpu: boolean,
    make: (info: MapInfo) => M,
  ): M {
    const call = percpu ? 'BpfObject.percpuMap' : 'BpfObject.map';
    const { info } = this.entry(name, call);
    if (isPercpuType(info.type) !== percpu) {
      throw new BpfError(
        call,
        `map '${name}'`,
        EINVAL,
        `${call}(map '${name}'): map is ${percpu ? 'not ' : ''}per-CPU; use ${percpu ? 'map()' : 'percpuMap()'}`,
      );
    }
    checkSizes(info, key, value, call);
    const cached = this.views.get(name);
    if (cached && cached.key === key && cached.value === value) return cached.view as M;
    const view = make(info);
    this.views.set(name, { key, value, view });
    return view;
  }

  /** A typed view of map `name`; the codec sizes must equal the map's key and value sizes. */
  map<K, V>(name: string, key: Codec<K>, value: Codec<V>): TypedMap<K, V> {
    return this.view(name, key, value, false, (info) => new TypedMap(info, key, value));
  }

  /** A typed view of a per-CPU map: values are arrays with one element per possible CPU. */
  percpuMap<K, V>(name: string, key: Codec<K>, value: Codec<V>): PercpuMap<K, V> {
    return this.view(name, key, value, true, (info) => new PercpuMap(info, key, value));
  }

  /** Key size, value size, max entries and type of map `name`, without a codec. */
  mapInfo(name: string): Readonly<MapInfo> {
    return { ...this.entry(name, 'BpfObject.mapInfo').info };
  }

  get closed(): boolean {
    return this.obj === null;
  }

  /** Closes the object (its fds); pinned maps and attached programs stay. Idempotent. */
  close(): void {
    if (this.obj === null) return;
    const obj = this.obj;
    this.obj = null;
    this.views.clear();
    ffi.objectClose(obj);
  }

  private live(call: string): void {
    if (this.obj === null) throw new BpfError(call, this.path, 9 /* EBADF */, `${call}: object ${this.path} is closed`);
  }
}
