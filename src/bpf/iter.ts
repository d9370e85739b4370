// Running a BPF iterator program once (iter/udp, ...): link it, open an iterator from the link and
// read it to the end, which is when the program has seen every object. Its output, if any, is
// returned as text.
import { BpfError } from './errors.js';
import * as ffi from './ffi.js';
import type { BpfProgram } from './object.js';

const BPF_TRACE_ITER = 28;

export function runIterator(prog: BpfProgram): string {
  const link = ffi.linkCreate(prog.fd, 0, BPF_TRACE_ITER);
  if (link < 0) throw new BpfError('bpf_link_create', `iterator '${prog.name}'`, link);
  try {
    const it = ffi.iterCreate(link);
    if (it < 0) throw new BpfError('bpf_iter_create', `iterator '${prog.name}'`, it);
    try {
      const chunks: Buffer[] = [];
      const buf = Buffer.alloc(4096);
      for (;;) {
        const n = ffi.read(it, buf, buf.length);
        if (n < 0) throw new BpfError('read', `iterator '${prog.name}'`, n);
        if (n === 0) break;
        chunks.push(Buffer.from(buf.subarray(0, n)));
      }
      return Buffer.concat(chunks).toString('utf8');
    } finally {
      ffi.closeFd(it);
    }
  } finally {
    ffi.closeFd(link);
  }
}
