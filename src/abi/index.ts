// The map ABI shared with the data path (bpf/switchyard.h): struct views, their codecs, and the
// enum constants. Generic libbpf plumbing lives in src/bpf, which knows nothing of these maps.
export * from './constants.js';
export type * from './types.js';
export * as layouts from './layouts.js';
