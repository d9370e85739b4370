// The compile stage: model + node config + id allocator → desired map state. See compile.ts.
export { compile, frontendKeyText, nodeTopology } from './compile.js';
export * from './types.js';
export { IdAllocator, IdExhaustedError, ID_LIMITS, type IdNamespace } from './ids.js';
export { seedFromPinned, type PinnedState, type SeedResult } from './restore.js';
export { IncrementalCompiler } from './incremental.js';
export { IdMap } from './id-map.js';
export { BackendTable, copyBackendAt, copyBackends, sameBackendAt } from './backend-table.js';
