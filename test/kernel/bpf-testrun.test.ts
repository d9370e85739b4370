// Issue 2 acceptance: BPF_PROG_TEST_RUN on crafted packets, checking verdicts, bytes and side effects.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BpfObject, silenceLibbpf, testRun, u32, u64 } from '../../src/bpf/index.js';
import * as layouts from '../../src/abi/layouts.js';
import { describeRoot } from '../lib/root.js';
import { buildPacket, parsePacket } from '../lib/packet.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const OBJ = join(ROOT, 'build/bpf/test_counter.o');
const TC_ACT_OK = 0,
  XDP_TX = 3;

describeRoot('typed libbpf layer: PROG_TEST_RUN', () => {
  let obj: BpfObject;
  beforeAll(() => {
    execFileSync('make', ['-s', '-C', ROOT, 'build/bpf/test_counter.o'], { stdio: 'pipe' });
    silenceLibbpf();
    obj = BpfObject.open(OBJ);
  });
  afterAll(() => obj?.close());

  const syn = buildPacket({
    eth: { src: '02:00:00:00:00:0a', dst: '02:00:00:00:00:0b' },
    ip: { src: '10.200.0.1', dst: '10.200.0.2' },
    tcp: { sport: 40000, dport: 80, flags: 'S', seq: 1000 },
    payload: Buffer.from('hi'),
  });

  it('xdp_swap bounces a TCP packet with its MACs swapped and nothing else changed', () => {
    const r = testRun(obj.program('xdp_swap'), syn);
    expect(r.retval).toBe(XDP_TX);
    expect(r.data.length).toBe(syn.length);
    const p = parsePacket(r.data);
    expect(p.eth).toEqual({ src: '02:00:00:00:00:0b', dst: '02:00:00:00:00:0a', type: 0x0800 });
    expect(p.tcp).toMatchObject({ sport: 40000, dport: 80, flags: 'S', seq: 1000, checksumOk: true });
    expect(r.data.subarray(12)).toEqual(syn.subarray(12));
    expect(syn.subarray(0, 6).toString('hex')).toBe('02000000000b'); // the caller's buffer is untouched
  });

  it('count_tc returns TC_ACT_OK, leaves the packet alone, and counts packets and bytes', () => {
    const stats = obj.percpuMap('stats', u32, layouts.stats);
    const sum = () => stats.get(0)!.reduce((s, v) => ({ p: s.p + v.packets, b: s.b + v.bytes }), { p: 0n, b: 0n });
    const before = sum();
    const r = testRun(obj.program('count_tc'), syn, { repeat: 100 });
    expect(r.retval).toBe(TC_ACT_OK);
    expect(r.data).toEqual(syn);
    expect(r.durationNs).toBeGreaterThan(0);
    const after = sum();
    expect(after.p - before.p).toBe(100n);
    expect(after.b - before.b).toBe(100n * BigInt(syn.length));
    expect(obj.map('totals', u32, u64).get(1)).toBeGreaterThanOrEqual(100n);
  });

  it('a test run error names the call and program', () => {
    expect(() => testRun(obj.program('xdp_swap'), syn, { outSize: 10 })).toThrow(
      /bpf_prog_test_run_opts\(program 'xdp_swap'\): .*\(ENOSPC\)/,
    );
    expect(() => testRun(obj.program('count_tc'), Buffer.alloc(0))).toThrow(/packet must be a non-empty Buffer/);
  });
});
