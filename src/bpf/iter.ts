// Running a BPF iterator program (iter/udp, ...): link it, open an iterator from the link and
// read it to the end, which is when the program has seen every object. Its output, if any, is
// returned as text. A network iterator walks the namespace of the thread that opens the iterator
// (bpf_iter_create), not the one that made the link: one link can be read once per namespace.
import { BpfError } from './errors.js';
import * as ffi from './ffi.js';
import type { BpfProgram } from './object.js';

const BPF_TRACE_ITER = 28;

export interface IteratorLink {
  /** Opens an iterator in the calling thread's namespace and reads it to the end. */
  run(): string;
  close(): void;
}

export function linkIterator(prog: BpfProgram): IteratorLink {
  const link = ffi.linkCreate(prog.fd, 0, BPF_TRACE_ITER);
  if (link < 0) throw new BpfError('bpf_link_create', `iterator '${prog.name}'`, link);
  return {
    run: () => readIterator(link, prog.name),
    close: () => ffi.closeFd(link),
  };
}

export function runIterator(prog: BpfProgram): string {
  const link = linkIterator(prog);
  try {
    return link.run();
  } finally {
    link.close();
  }
}

function readIterator(link: number, name: string): string {
  const it = ffi.iterCreate(link);
  if (it < 0) throw new BpfError('bpf_iter_create', `iterator '${name}'`, it);
  try {
    const chunks: Buffer[] = [];
    const buf = Buffer.alloc(4096);
    for (;;) {
      const n = ffi.read(it, buf, buf.length);
      if (n < 0) throw new BpfError('read', `iterator '${name}'`, n);
      if (n === 0) break;
      chunks.push(Buffer.from(buf.subarray(0, n)));
    }
    return Buffer.concat(chunks).toString('utf8');
  } finally {
    ffi.closeFd(it);
  }
}
