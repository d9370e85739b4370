// Attaching programs to interfaces: tc (clsact ingress/egress, direct action) and XDP. Interfaces are
// looked up in the calling thread's network namespace: wrap calls in inNetns() to work inside one.
import { execFileSync } from 'node:child_process';
import { BpfError, EEXIST, ENODEV, ENOENT, EINVAL } from './errors.js';
import * as ffi from './ffi.js';
import type { BpfProgram } from './object.js';

export type TcDirection = 'ingress' | 'egress';
export type XdpMode = 'native' | 'generic';

const TC_POINT = { ingress: 1, egress: 2 } as const;
const TC_F_REPLACE = 1;
const XDP_FLAGS = { generic: 2, native: 4 } as const;
const DEFAULT_HANDLE = 1;
const DEFAULT_PRIORITY = 1;

/** The interface's index in the current network namespace, or BpfError naming it. */
export function ifindexOf(ifname: string): number {
  const idx = ifname.length > 0 && ifname.length < 16 ? ffi.ifNameToIndex(ifname) : 0;
  if (!idx) throw new BpfError('if_nametoindex', `interface '${ifname}'`, ENODEV);
  return idx;
}

function tcHook(ifindex: number, direction: TcDirection): Buffer {
  if (!(direction in TC_POINT)) throw new BpfError('bpf_tc_hook', `direction '${direction}'`, EINVAL);
  const hook = Buffer.alloc(24);
  hook.writeBigUInt64LE(24n, 0);
  hook.writeInt32LE(ifindex, 8);
  hook.writeUInt32LE(TC_POINT[direction], 12);
  return hook;
}

function tcOpts(progFd: number, flags: number, handle: number, priority: number): Buffer {
  const opts = Buffer.alloc(32);
  opts.writeBigUInt64LE(32n, 0);
  opts.writeInt32LE(progFd, 8);
  opts.writeUInt32LE(flags, 12);
  opts.writeUInt32LE(0, 16); // prog_id: 0 in, filled out by query
  opts.writeUInt32LE(handle, 20);
  opts.writeUInt32LE(priority, 24);
  return opts;
}

export interface TcOptions {
  priority?: number;
  handle?: number;
}

/**
 * Attaches `prog` as a direct-action tc filter. Creates the clsact qdisc if needed; replaces a filter
 * already at the same handle/priority.
 */
export function attachTc(ifname: string, direction: TcDirection, prog: BpfProgram, opts: TcOptions = {}): void {
  const what = `interface '${ifname}'`;
  const hook = tcHook(ifindexOf(ifname), direction);
  const ret = ffi.tcHookCreate(hook);
  if (ret < 0 && ret !== -EEXIST) throw new BpfError('bpf_tc_hook_create', what, ret);
  const o = tcOpts(prog.fd, TC_F_REPLACE, opts.handle ?? DEFAULT_HANDLE, opts.priority ?? DEFAULT_PRIORITY);
  const r = ffi.tcAttach(hook, o);
  if (r < 0) throw new BpfError('bpf_tc_attach', `${what} ${direction}, program '${prog.name}'`, r);
}

/** Removes the tc filter at handle/priority. Returns false when there was none. */
export function detachTc(ifname: string, direction: TcDirection, opts: TcOptions = {}): boolean {
  const hook = tcHook(ifindexOf(ifname), direction);
  const r = ffi.tcDetach(hook, tcOpts(0, 0, opts.handle ?? DEFAULT_HANDLE, opts.priority ?? DEFAULT_PRIORITY));
  if (r === -ENOENT || r === -EINVAL) return false; // no filter, or no clsact at all
  if (r < 0) throw new BpfError('bpf_tc_detach', `interface '${ifname}' ${direction}`, r);
  return true;
}

/** The program id at one handle/priority (bpf_tc_query), or undefined when none. */
export function queryTc(ifname: string, direction: TcDirection, opts: TcOptions = {}): number | undefined {
  const hook = tcHook(ifindexOf(ifname), direction);
  const o = tcOpts(0, 0, opts.handle ?? DEFAULT_HANDLE, opts.priority ?? DEFAULT_PRIORITY);
  const r = ffi.tcQuery(hook, o);
  if (r === -ENOENT || r === -EINVAL) return undefined;
  if (r < 0) throw new BpfError('bpf_tc_query', `interface '${ifname}' ${direction}`, r);
  return o.readUInt32LE(16);
}

/**
 * Every BPF tc filter on the interface's hook. bpf_tc_query can only look at one handle/priority, so
 * this parses `tc -j filter show` (run from the calling thread, hence in its namespace).
 */
export function listTc(
  ifname: string,
  direction: TcDirection,
): Array<{ progId: number; handle: number; priority: number }> {
  ifindexOf(ifname);
  let out: string;
  try {
    out = execFileSync('tc', ['-j', 'filter', 'show', 'dev', ifname, direction], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    // No clsact qdisc: nothing attached.
    if (/Cannot find specified qdisc|Invalid argument/i.test(e.stderr ?? '')) return [];
    throw new BpfError(
      'tc filter show',
      `interface '${ifname}' ${direction}`,
      EINVAL,
      `tc filter show(interface '${ifname}' ${direction}): ${(e.stderr || e.message).trim()}`,
    );
  }
  const rows = out.trim()
    ? (JSON.parse(out) as Array<{
        kind?: string;
        pref?: number;
        options?: { handle?: string; prog?: { id?: number } };
      }>)
    : [];
  return rows
    .filter((r) => r.kind === 'bpf' && r.options?.prog?.id !== undefined)
    .map((r) => ({ progId: r.options!.prog!.id!, handle: Number(r.options!.handle ?? 0), priority: r.pref ?? 0 }));
}

export function attachXdp(ifname: string, prog: BpfProgram, mode: XdpMode): void {
  if (!(mode in XDP_FLAGS)) throw new BpfError('bpf_xdp_attach', `mode '${mode}'`, EINVAL);
  const r = ffi.xdpAttach(ifindexOf(ifname), prog.fd, XDP_FLAGS[mode]);
  if (r < 0) throw new BpfError('bpf_xdp_attach', `interface '${ifname}' ${mode}, program '${prog.name}'`, r);
}

export function detachXdp(ifname: string, mode: XdpMode): void {
  if (!(mode in XDP_FLAGS)) throw new BpfError('bpf_xdp_detach', `mode '${mode}'`, EINVAL);
  const r = ffi.xdpDetach(ifindexOf(ifname), XDP_FLAGS[mode]);
  if (r < 0) throw new BpfError('bpf_xdp_detach', `interface '${ifname}' ${mode}`, r);
}

/** The XDP program on the interface and how it is attached ('none', progId 0 when nothing is). */
export function queryXdp(ifname: string): { progId: number; mode: XdpMode | 'none' } {
  const opts = Buffer.alloc(32);
  opts.writeBigUInt64LE(32n, 0);
  const r = ffi.xdpQuery(ifindexOf(ifname), 0, opts);
  if (r < 0) throw new BpfError('bpf_xdp_query', `interface '${ifname}'`, r);
  const drv = opts.readUInt32LE(12),
    skb = opts.readUInt32LE(20);
  switch (opts[24]) {
    case 1:
      return { progId: opts.readUInt32LE(8), mode: 'native' };
    case 2:
      return { progId: opts.readUInt32LE(8), mode: 'generic' };
    case 4:
      return drv ? { progId: drv, mode: 'native' } : { progId: skb, mode: 'generic' }; // XDP_ATTACHED_MULTI
    default:
      return { progId: 0, mode: 'none' };
  }
}
