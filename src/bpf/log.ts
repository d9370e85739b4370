// libbpf's own logging. By default it prints warnings and info lines to stderr; the agent and
// `switchyard inspect` report errors themselves (BpfError carries the errno), so they turn it off.
import * as ffi from './ffi.js';

/** libbpf_set_print(NULL): libbpf stops writing to stderr. */
export function silenceLibbpf(): void {
  ffi.setPrintNull();
}
