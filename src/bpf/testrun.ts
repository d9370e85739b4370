// BPF_PROG_TEST_RUN: run a loaded program on a crafted packet, without any interface.
import { BpfError, EINVAL } from './errors.js';
import * as ffi from './ffi.js';
import type { BpfProgram } from './object.js';

export interface TestRunResult {
  /** The program's return value (TC_ACT_*, XDP_*). */
  retval: number;
  /** The packet as the program left it. */
  data: Buffer;
  /** Average run time per repetition, as the kernel measured it. */
  durationNs: number;
}

const opts = Buffer.alloc(80);
/**
 * The buffers whose addresses sit in `opts` while the kernel reads them. Only their addresses go
 * to C, so without this reference V8 may see `input` as dead after addressOf() and free it before
 * the test run: the kernel then reads reused memory (the packet fuzz caught garbage frames).
 */
const inFlight = new Set<Buffer>();

/** struct __sk_buff as a test run's context (ctx_in): the size the kernel takes, and where
 *  ingress_ifindex sits in it (the skb's skb_iif: the device a forwarded packet came in on). */
const SKB_CTX_SIZE = 192;
const SKB_CTX_INGRESS_IFINDEX = 36;

export function testRun(
  prog: BpfProgram,
  packet: Buffer,
  o: { repeat?: number; outSize?: number; ingressIfindex?: number } = {},
): TestRunResult {
  if (!Buffer.isBuffer(packet) || packet.length === 0) {
    throw new BpfError(
      'bpf_prog_test_run_opts',
      `program '${prog.name}'`,
      EINVAL,
      `bpf_prog_test_run_opts(program '${prog.name}'): packet must be a non-empty Buffer`,
    );
  }
  const input = Buffer.alloc(packet.length); // unpooled: its address is its own
  packet.copy(input);
  const out = Buffer.alloc(o.outSize ?? packet.length + 256);
  opts.fill(0);
  opts.writeBigUInt64LE(80n, 0);
  opts.writeBigUInt64LE(BigInt(ffi.addressOf(input)), 8);
  opts.writeBigUInt64LE(BigInt(ffi.addressOf(out)), 16);
  opts.writeUInt32LE(input.length, 24);
  opts.writeUInt32LE(out.length, 28);
  opts.writeUInt32LE(o.repeat ?? 1, 60);
  inFlight.add(input).add(out);
  if (o.ingressIfindex !== undefined) {
    const ctx = Buffer.alloc(SKB_CTX_SIZE);
    ctx.writeUInt32LE(o.ingressIfindex, SKB_CTX_INGRESS_IFINDEX);
    opts.writeBigUInt64LE(BigInt(ffi.addressOf(ctx)), 32);
    opts.writeUInt32LE(ctx.length, 48);
    inFlight.add(ctx);
  }
  const r = ffi.progTestRunOpts(prog.fd, opts);
  inFlight.clear();
  if (r < 0) throw new BpfError('bpf_prog_test_run_opts', `program '${prog.name}'`, r);
  const size = Math.min(opts.readUInt32LE(28), out.length);
  return { retval: opts.readUInt32LE(56), data: Buffer.from(out.subarray(0, size)), durationNs: opts.readUInt32LE(64) };
}
