// The typed libbpf layer: objects, maps, attachment, test runs, namespaces, clock and logging.
export { BpfError, errnoName, errnoText } from './errors.js';
export {
  CodecError,
  struct,
  scalar,
  bytes,
  u8,
  u16,
  u32,
  u64,
  be16,
  ipv4,
  formatIpv4,
  type Codec,
  type StructCodec,
  type FieldLayout,
  type FieldKind,
  type FieldSpec,
  type ScalarKind,
} from './codec.js';
export {
  attachCgroupPinned,
  CGROUP_ATTACH,
  currentNetnsCookie,
  detachCgroupPinned,
  unifiedCgroupRoot,
  type CgroupHook,
} from './cgroup.js';
export { linkIterator, runIterator, type IteratorLink } from './iter.js';
export { isPinnedMap, pinnedMapDefs, type MapDef } from './map-defs.js';
export { BpfObject, ensureBpffs, isBpffs, PinnedSizeError, programId, type BpfProgram } from './object.js';
export {
  TypedMap,
  PercpuMap,
  openPinnedMap,
  openPinnedPercpuMap,
  pinnedMapSizes,
  possibleCpus,
  MAP_TYPE,
  type MapInfo,
  type UpdateFlag,
} from './map.js';
export {
  attachTc,
  detachTc,
  listTc,
  queryTc,
  attachXdp,
  detachXdp,
  queryXdp,
  ifindexOf,
  type TcDirection,
  type TcOptions,
  type XdpMode,
} from './attach.js';
export {
  attachTcHook,
  detachTcHook,
  forgetTcLink,
  listTcx,
  tcPrograms,
  type TcMode,
  type TcProgram,
} from './tcx.js';
export { testRun, type TestRunResult } from './testrun.js';
export { inNetns } from './netns.js';
export { monotonicNs } from './clock.js';
export { silenceLibbpf } from './log.js';
export { returnFreedMemory, syncMemoryReturner } from './memory.js';
