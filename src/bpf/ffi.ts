// Raw bindings to libbpf.so.1 and libc through ffi-rs. One library handle each, opened on first use;
// every call goes through ffi-rs `load` directly (the `define` wrapper costs ~3x more). All calls are
// synchronous on the calling (main) thread, which is what makes inNetns() work.
//
// Conventions: opaque pointers (struct bpf_object *, struct bpf_map *, struct bpf_program *) are
// ffi-rs Externals; a NULL pointer argument is declared U64 and passed as 0; C structs (opts, keys,
// values) are Buffers written byte by byte, passed as U8Array without a copy so C's writes show up.
// libbpf 1.x returns -errno from int functions; pointer-returning ones set errno and return NULL.
import { DataType, isNullPointer, load, open, type JsExternal } from 'ffi-rs';

export type Ptr = JsExternal;

const BPF = 'libbpf';
const LIBC = 'libc';
let opened = false;

function ensureOpen(): void {
  if (opened) return;
  open({ library: BPF, path: 'libbpf.so.1' });
  open({ library: LIBC, path: 'libc.so.6' });
  opened = true;
}

const T = DataType;
// Parameter type lists, built once.
const P_NONE: DataType[] = [];
const P_PTR = [T.External];
const P_STR = [T.String];
const P_I32 = [T.I32];
const P_STR_NULL = [T.String, T.U64];
const P_PTR_NULL = [T.External, T.U64];
const P_PTR_PTR = [T.External, T.External];
const P_PTR_STR = [T.External, T.String];
const P_FD_BUF = [T.I32, T.U8Array];
const P_FD_BUF_BUF = [T.I32, T.U8Array, T.U8Array];
const P_FD_BUF_BUF_U64 = [T.I32, T.U8Array, T.U8Array, T.U64];
const P_FD_NULL_BUF = [T.I32, T.U64, T.U8Array];
const P_BATCH = [T.I32, T.U8Array, T.U8Array, T.U8Array, T.U8Array];
const P_DEL_BATCH = [T.I32, T.U8Array, T.U8Array, T.U8Array];
const P_LOOKUP_BATCH = [T.I32, T.U8Array, T.U8Array, T.U8Array, T.U8Array, T.U8Array, T.U8Array];
const P_LOOKUP_BATCH0 = [T.I32, T.U64, T.U8Array, T.U8Array, T.U8Array, T.U8Array, T.U8Array];
const P_BUF = [T.U8Array];
const P_BUF_BUF = [T.U8Array, T.U8Array];
const P_I32_I32_BUF = [T.I32, T.I32, T.U8Array];
const P_XDP_ATTACH = [T.I32, T.I32, T.U32, T.U64];
const P_XDP_DETACH = [T.I32, T.U32, T.U64];
const P_MEMCPY = [T.U8Array, T.U8Array, T.U64];
const P_STR_BUF = [T.String, T.U8Array];
const P_MOUNT = [T.String, T.String, T.String, T.U64, T.U64];
const P_I32_I32 = [T.I32, T.I32];
const P_PTR_U32 = [T.External, T.U32];
const P_FD_STR = [T.I32, T.String];
const P_STR_I32 = [T.String, T.I32];
const P_I32_I32_U64 = [T.I32, T.I32, T.U64];

function call(
  lib: string,
  funcName: string,
  retType: DataType,
  paramsType: DataType[],
  paramsValue: unknown[],
): unknown {
  ensureOpen();
  return load({ library: lib, funcName, retType, paramsType, paramsValue });
}
const int = (lib: string, fn: string, types: DataType[], values: unknown[]) =>
  call(lib, fn, T.I32, types, values) as number;
/** An int-returning libc call whose failure is -1 + errno: returns the value, or -errno. */
function libcErrno(fn: string, types: DataType[], values: unknown[]): number {
  ensureOpen();
  const r = load({
    library: LIBC,
    funcName: fn,
    retType: T.I32,
    paramsType: types,
    paramsValue: values,
    errno: true,
  }) as unknown as { value: number; errnoCode: number };
  return r.value < 0 ? -(r.errnoCode || 1) : r.value;
}
/** A pointer-returning call: the pointer, or -errno when it returned NULL. */
function ptrOrErrno(lib: string, fn: string, types: DataType[], values: unknown[]): Ptr | number {
  ensureOpen();
  const r = load({
    library: lib,
    funcName: fn,
    retType: T.External,
    paramsType: types,
    paramsValue: values,
    errno: true,
  }) as unknown as { value: Ptr; errnoCode: number };
  return isNullPointer(r.value) ? -(r.errnoCode || 22) : r.value;
}
function ptrOrNull(lib: string, fn: string, types: DataType[], values: unknown[]): Ptr | null {
  const p = call(lib, fn, T.External, types, values) as Ptr;
  return isNullPointer(p) ? null : p;
}

// ---- libbpf: objects, maps, programs -------------------------------------------------------------
export const objectOpenFile = (path: string) => ptrOrErrno(BPF, 'bpf_object__open_file', P_STR_NULL, [path, 0]);
export const objectLoad = (obj: Ptr) => int(BPF, 'bpf_object__load', P_PTR, [obj]);
export const objectClose = (obj: Ptr) => void call(BPF, 'bpf_object__close', T.Void, P_PTR, [obj]);
export const objectNextMap = (obj: Ptr, prev: Ptr | null) =>
  prev
    ? ptrOrNull(BPF, 'bpf_object__next_map', P_PTR_PTR, [obj, prev])
    : ptrOrNull(BPF, 'bpf_object__next_map', P_PTR_NULL, [obj, 0]);
export const objectNextProgram = (obj: Ptr, prev: Ptr | null) =>
  prev
    ? ptrOrNull(BPF, 'bpf_object__next_program', P_PTR_PTR, [obj, prev])
    : ptrOrNull(BPF, 'bpf_object__next_program', P_PTR_NULL, [obj, 0]);
export const mapName = (map: Ptr) => call(BPF, 'bpf_map__name', T.String, P_PTR, [map]) as string;
export const mapFd = (map: Ptr) => int(BPF, 'bpf_map__fd', P_PTR, [map]);
export const mapType = (map: Ptr) => int(BPF, 'bpf_map__type', P_PTR, [map]);
export const mapKeySize = (map: Ptr) => int(BPF, 'bpf_map__key_size', P_PTR, [map]);
export const mapValueSize = (map: Ptr) => int(BPF, 'bpf_map__value_size', P_PTR, [map]);
export const mapMaxEntries = (map: Ptr) => int(BPF, 'bpf_map__max_entries', P_PTR, [map]);
export const mapFlags = (map: Ptr) => int(BPF, 'bpf_map__map_flags', P_PTR, [map]);
export const mapIsInternal = (map: Ptr) => call(BPF, 'bpf_map__is_internal', T.Boolean, P_PTR, [map]) as boolean;
/** Before bpf_object__load only: the map is created with this many entries instead of the object's. */
export const mapSetMaxEntries = (map: Ptr, n: number) => int(BPF, 'bpf_map__set_max_entries', P_PTR_U32, [map, n]);
export const mapSetPinPath = (map: Ptr, path: string) => int(BPF, 'bpf_map__set_pin_path', P_PTR_STR, [map, path]);
export const programName = (prog: Ptr) => call(BPF, 'bpf_program__name', T.String, P_PTR, [prog]) as string;
export const programFd = (prog: Ptr) => int(BPF, 'bpf_program__fd', P_PTR, [prog]);
export const numPossibleCpus = () => int(BPF, 'libbpf_num_possible_cpus', P_NONE, []);
export const setPrintNull = () => void call(BPF, 'libbpf_set_print', T.U64, [T.U64], [0]);
/** A libbpf call with no arguments and no side effects, for measuring the bare FFI cost. */
export const noop = () => int(BPF, 'libbpf_major_version', P_NONE, []);

// ---- libbpf: low-level map syscalls (fd based) ---------------------------------------------------
export const mapLookupElem = (fd: number, key: Buffer, value: Buffer) =>
  int(BPF, 'bpf_map_lookup_elem', P_FD_BUF_BUF, [fd, key, value]);
export const mapUpdateElem = (fd: number, key: Buffer, value: Buffer, flags: number) =>
  int(BPF, 'bpf_map_update_elem', P_FD_BUF_BUF_U64, [fd, key, value, flags]);
export const mapDeleteElem = (fd: number, key: Buffer) => int(BPF, 'bpf_map_delete_elem', P_FD_BUF, [fd, key]);
export const mapGetNextKey = (fd: number, key: Buffer | null, next: Buffer) =>
  key
    ? int(BPF, 'bpf_map_get_next_key', P_FD_BUF_BUF, [fd, key, next])
    : int(BPF, 'bpf_map_get_next_key', P_FD_NULL_BUF, [fd, 0, next]);
/** count: a 4-byte Buffer (u32, in/out). opts: bpf_map_batch_opts (24 bytes). */
export const mapUpdateBatch = (fd: number, keys: Buffer, values: Buffer, count: Buffer, opts: Buffer) =>
  int(BPF, 'bpf_map_update_batch', P_BATCH, [fd, keys, values, count, opts]);
export const mapDeleteBatch = (fd: number, keys: Buffer, count: Buffer, opts: Buffer) =>
  int(BPF, 'bpf_map_delete_batch', P_DEL_BATCH, [fd, keys, count, opts]);
export const mapLookupBatch = (
  fd: number,
  inBatch: Buffer | null,
  outBatch: Buffer,
  keys: Buffer,
  values: Buffer,
  count: Buffer,
  opts: Buffer,
) =>
  inBatch
    ? int(BPF, 'bpf_map_lookup_batch', P_LOOKUP_BATCH, [fd, inBatch, outBatch, keys, values, count, opts])
    : int(BPF, 'bpf_map_lookup_batch', P_LOOKUP_BATCH0, [fd, 0, outBatch, keys, values, count, opts]);
export const objGet = (path: string) => int(BPF, 'bpf_obj_get', P_STR, [path]);
/** info: a bpf_map_info / bpf_prog_info buffer; len: 4-byte Buffer (u32, in/out). */
export const objGetInfoByFd = (fd: number, info: Buffer, len: Buffer) =>
  int(BPF, 'bpf_obj_get_info_by_fd', P_FD_BUF_BUF, [fd, info, len]);
export const progTestRunOpts = (fd: number, opts: Buffer) => int(BPF, 'bpf_prog_test_run_opts', P_FD_BUF, [fd, opts]);

// ---- libbpf: links (cgroup attach), pinned so a restarted agent finds and updates them ------------
export const linkCreate = (progFd: number, targetFd: number, attachType: number) =>
  int(BPF, 'bpf_link_create', P_XDP_ATTACH, [progFd, targetFd, attachType, 0]);
export const linkUpdate = (linkFd: number, progFd: number) =>
  int(BPF, 'bpf_link_update', P_I32_I32_U64, [linkFd, progFd, 0]);
export const linkDetach = (linkFd: number) => int(BPF, 'bpf_link_detach', P_I32, [linkFd]);
export const iterCreate = (linkFd: number) => int(BPF, 'bpf_iter_create', P_I32, [linkFd]);
export const objPin = (fd: number, path: string) => int(BPF, 'bpf_obj_pin', P_FD_STR, [fd, path]);

// ---- libbpf: tc and XDP --------------------------------------------------------------------------
export const tcHookCreate = (hook: Buffer) => int(BPF, 'bpf_tc_hook_create', P_BUF, [hook]);
export const tcHookDestroy = (hook: Buffer) => int(BPF, 'bpf_tc_hook_destroy', P_BUF, [hook]);
export const tcAttach = (hook: Buffer, opts: Buffer) => int(BPF, 'bpf_tc_attach', P_BUF_BUF, [hook, opts]);
export const tcDetach = (hook: Buffer, opts: Buffer) => int(BPF, 'bpf_tc_detach', P_BUF_BUF, [hook, opts]);
export const tcQuery = (hook: Buffer, opts: Buffer) => int(BPF, 'bpf_tc_query', P_BUF_BUF, [hook, opts]);
// tcx (Linux ≥ 6.6): the programs on an interface's hook (ids; counts: u32 in/out).
export const progQuery = (ifindex: number, attachType: number, flags: Buffer, ids: Buffer, count: Buffer) =>
  int(
    BPF,
    'bpf_prog_query',
    [T.I32, T.I32, T.U32, T.U8Array, T.U8Array, T.U8Array],
    [ifindex, attachType, 0, flags, ids, count],
  );
export const progGetFdById = (id: number) => int(BPF, 'bpf_prog_get_fd_by_id', [T.U32], [id]);
export const xdpAttach = (ifindex: number, progFd: number, flags: number) =>
  int(BPF, 'bpf_xdp_attach', P_XDP_ATTACH, [ifindex, progFd, flags, 0]);
export const xdpDetach = (ifindex: number, flags: number) =>
  int(BPF, 'bpf_xdp_detach', P_XDP_DETACH, [ifindex, flags, 0]);
export const xdpQuery = (ifindex: number, flags: number, opts: Buffer) =>
  int(BPF, 'bpf_xdp_query', P_I32_I32_BUF, [ifindex, flags, opts]);

// ---- libc ----------------------------------------------------------------------------------------
/** The address of a Buffer's bytes (memcpy returns its first argument), for pointer fields. */
export const addressOf = (buf: Buffer) => call(LIBC, 'memcpy', T.U64, P_MEMCPY, [buf, buf, 0]) as number;
/** 0 when there is no such interface (in the calling thread's network namespace). */
export const ifNameToIndex = (ifname: string) => call(LIBC, 'if_nametoindex', T.U32, P_STR, [ifname]) as number;
export const closeFd = (fd: number) => int(LIBC, 'close', P_I32, [fd]);
/** glibc's malloc_trim(0): 1 when memory went back to the kernel, 0 when none could. */
export const mallocTrim = () => int(LIBC, 'malloc_trim', [T.U64], [0]);
/** socket(2) and getsockopt(2): the fd or 0, or -errno. */
export const socket = (domain: number, type: number, proto: number) =>
  libcErrno('socket', [T.I32, T.I32, T.I32], [domain, type, proto]);
export const getsockopt = (fd: number, level: number, name: number, val: Buffer, len: Buffer) =>
  libcErrno('getsockopt', [T.I32, T.I32, T.I32, T.U8Array, T.U8Array], [fd, level, name, val, len]);
/** read(2): bytes read, or -errno. */
export const read = (fd: number, buf: Buffer, n: number) => libcErrno('read', [T.I32, T.U8Array, T.U64], [fd, buf, n]);
/** open(2): the fd, or -errno. */
export const openPath = (path: string, flags: number) => libcErrno('open', P_STR_I32, [path, flags]);
/** setns(2): 0 or -errno. */
export const setns = (fd: number, nstype: number) => libcErrno('setns', P_I32_I32, [fd, nstype]);
/** statfs(2) into a 120-byte buffer (f_type is the first 8 bytes): 0 or -errno. */
export const statfs = (path: string, buf: Buffer) => libcErrno('statfs', P_STR_BUF, [path, buf]);
/** mount(2) with NULL data: 0 or -errno. */
export const mount = (source: string, target: string, fstype: string, flags: number) =>
  libcErrno('mount', P_MOUNT, [source, target, fstype, flags, 0]);
/** clock_gettime(CLOCK_MONOTONIC) into a 16-byte timespec buffer. */
export const clockGettime = (clockId: number, ts: Buffer) =>
  int(LIBC, 'clock_gettime', [T.I32, T.U8Array], [clockId, ts]);
