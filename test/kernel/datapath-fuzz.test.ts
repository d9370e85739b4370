// Packet fuzz: thousands of malformed frames through from_pod and from_netdev with
// BPF_PROG_TEST_RUN, against maps that hold a TCP and a UDP ClusterIP, a NodePort, a Service
// without endpoints and live conntrack entries (so replies are fuzzed too). Each frame is a
// valid one bent one way: truncated, IHL < 5 or IP options, TCP doff < 5, a total length past
// the buffer or short of the headers, VLAN-tagged, zero ports, fragment bits, or a few random
// bytes flipped. Whatever comes in, the verdict must be pass, drop or redirect, and a frame the
// program rewrote must still be a whole IPv4 packet with correct checksums (when the frame that
// came in had them). The generator is seeded; a failure prints the seed, the mutation and the
// bytes, so it can be replayed.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BpfObject, inNetns, testRun, type BpfProgram } from '../../src/bpf/index.js';
import { IPPROTO_TCP, IPPROTO_UDP, SCOPE_EXTERNAL, SCOPE_INTERNAL, FE_NODEPORT } from '../../src/abi/index.js';
import { dataplaneMaps, type DataplaneMaps } from '../../src/dataplane/maps.js';
import { buildPacket, inetChecksum, type PacketSpec } from '../lib/packet.js';
import { createNetns, deleteNetns, uniqueName } from '../lib/namespaces.js';
import { describeRoot } from '../lib/root.js';

const OBJECT = new URL('../../build/bpf/switchyard.o', import.meta.url).pathname;
const TC_ACT_OK = 0,
  TC_ACT_SHOT = 2,
  TC_ACT_REDIRECT = 7;
const VERDICTS = new Set([TC_ACT_OK, TC_ACT_SHOT, TC_ACT_REDIRECT]);

const VIP = '10.96.0.10',
  EMPTY_VIP = '10.96.0.11',
  NODE = '10.250.0.11',
  CLIENT = '10.244.0.20';
const B1 = { id: 1, addr: '10.244.1.1', port: 8080 };
const ROUNDS = 400; // × 9 mutations × 6 base packets × 2 programs ≈ 43,000 runs

/** mulberry32: small, fast, and the same sequence for the same seed on every machine. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// --- checking a frame ----------------------------------------------------------------------

interface Check {
  ip: boolean;
  l4: boolean;
  whole: boolean;
}

/** Whether an Ethernet + IPv4 frame is whole (total length within the buffer, headers complete)
 *  and its IP and TCP/UDP/ICMP checksums are right. */
function checkFrame(f: Buffer): Check {
  if (f.length < 34 || f.readUInt16BE(12) !== 0x0800 || f[14] >> 4 !== 4) return { ip: false, l4: false, whole: false };
  const ihl = (f[14] & 0xf) * 4;
  const tot = f.readUInt16BE(16);
  const whole = ihl >= 20 && tot >= ihl && 14 + tot <= f.length;
  if (!whole) return { ip: false, l4: false, whole };
  const ip = inetChecksum(f.subarray(14, 14 + ihl)) === 0;
  const proto = f[23];
  const l4 = f.subarray(14 + ihl, 14 + tot);
  const fragment = (f.readUInt16BE(20) & 0x3fff) !== 0;
  if (fragment || (proto !== IPPROTO_TCP && proto !== IPPROTO_UDP && proto !== 1)) return { ip, l4: true, whole };
  if (proto === 1) return { ip, l4: inetChecksum(l4) === 0, whole };
  if (proto === IPPROTO_UDP && l4.length >= 8 && l4.readUInt16BE(6) === 0) return { ip, l4: true, whole };
  if (l4.length < (proto === IPPROTO_TCP ? 20 : 8)) return { ip, l4: false, whole };
  const pseudo = Buffer.alloc(12);
  f.copy(pseudo, 0, 26, 34);
  pseudo[9] = proto;
  pseudo.writeUInt16BE(l4.length, 10);
  return { ip, l4: inetChecksum(pseudo, l4) === 0, whole };
}

// --- bending a frame ---------------------------------------------------------------------------

type Mutation = (f: Buffer, r: () => number) => Buffer;
const int = (r: () => number, n: number) => Math.floor(r() * n);
const ipCsum = (f: Buffer) => {
  const ihl = Math.max(20, (f[14] & 0xf) * 4);
  if (f.length < 14 + ihl) return f;
  f.writeUInt16BE(0, 24);
  f.writeUInt16BE(inetChecksum(f.subarray(14, 14 + ihl)), 24);
  return f;
};

const MUTATIONS: Record<string, Mutation> = {
  truncated: (f, r) => f.subarray(0, 14 + int(r, f.length - 14)),
  ihlShort: (f, r) => {
    f[14] = 0x40 | int(r, 5);
    return ipCsum(f);
  },
  ipOptions: (f, r) => {
    const words = 1 + int(r, 10);
    const g = Buffer.concat([f.subarray(0, 34), Buffer.alloc(words * 4, 1), f.subarray(34)]); // NOP options
    g[14] = 0x45 + words;
    g.writeUInt16BE(g.readUInt16BE(16) + words * 4, 16);
    return ipCsum(g);
  },
  tcpDoffShort: (f, r) => {
    if (f[23] === IPPROTO_TCP && f.length >= 54) f[46] = int(r, 5) << 4;
    return f;
  },
  totalLength: (f, r) => {
    const ihl = (f[14] & 0xf) * 4;
    f.writeUInt16BE(r() < 0.5 ? f.length - 14 + 1 + int(r, 1000) : int(r, ihl + 20), 16);
    return ipCsum(f);
  },
  vlan: (f) => Buffer.concat([f.subarray(0, 12), Buffer.from([0x81, 0x00, 0x00, 0x07]), f.subarray(12)]),
  zeroPorts: (f, r) => {
    if (f.length >= 38) f.writeUInt16BE(0, r() < 0.5 ? 34 : 36);
    return f;
  },
  fragment: (f, r) => {
    f.writeUInt16BE(r() < 0.5 ? 0x2000 : 1 + int(r, 0x1fff), 20);
    return ipCsum(f);
  },
  flipped: (f, r) => {
    for (let i = 1 + int(r, 3); i > 0; i--) f[int(r, f.length)] ^= 1 + int(r, 255);
    return f;
  },
};

// --- the maps and the programs -------------------------------------------------------------

const tcp = (src: string, dst: string, sport: number, dport: number, flags: string, payload?: Buffer): PacketSpec => ({
  ip: { src, dst, ttl: 63, id: 7 },
  tcp: { sport, dport, flags, seq: 1, ack: flags.includes('A') ? 1 : 0 },
  payload,
});
const udp = (src: string, dst: string, sport: number, dport: number): PacketSpec => ({
  ip: { src, dst, ttl: 63, id: 7 },
  udp: { sport, dport },
  payload: Buffer.from('query'),
});

/** The frames every round starts from: new flows, a flow with state, its reply, a reject. */
const BASES: Array<[string, Buffer]> = [
  ['tcp syn to the ClusterIP', buildPacket(tcp(CLIENT, VIP, 40000, 80, 'S'))],
  ['tcp data on an established flow', buildPacket(tcp(CLIENT, VIP, 41000, 80, 'PA', Buffer.alloc(64, 0x61)))],
  ['tcp reply from the backend', buildPacket(tcp(B1.addr, CLIENT, B1.port, 41000, 'PA', Buffer.alloc(32, 0x62)))],
  ['udp to the ClusterIP', buildPacket(udp(CLIENT, VIP, 33000, 53))],
  ['tcp syn to a Service without endpoints', buildPacket(tcp(CLIENT, EMPTY_VIP, 40001, 80, 'S'))],
  ['tcp syn to the NodePort', buildPacket(tcp('192.0.2.9', NODE, 40002, 30080, 'S'))],
];

function program(m: DataplaneMaps): void {
  m.backends.set(B1.id, { addr: B1.addr, port: B1.port, flags: 1 });
  m.slots.set({ setId: 1, slot: 1, gen: 0 }, B1.id);
  const fe = (addr: string, port: number, proto: number, scope: number, count: number, flags = 0) =>
    m.frontends.set({ addr, port, proto, scope }, { svcId: 1, setId: 1, affinityTimeout: 0, count, gen: 0, flags });
  fe(VIP, 80, IPPROTO_TCP, SCOPE_INTERNAL, 1);
  fe(VIP, 53, IPPROTO_UDP, SCOPE_INTERNAL, 1);
  fe(EMPTY_VIP, 80, IPPROTO_TCP, SCOPE_INTERNAL, 0);
  for (const scope of [SCOPE_INTERNAL, SCOPE_EXTERNAL]) fe(NODE, 30080, IPPROTO_TCP, scope, 1, FE_NODEPORT);
}

describeRoot('packet fuzz: malformed frames through from_pod and from_netdev (BPF_PROG_TEST_RUN)', () => {
  let obj: BpfObject | undefined;
  let m: DataplaneMaps;
  const ns = uniqueName('syfuzz');

  beforeAll(() => {
    createNetns(ns); // from_netdev routes in BPF: its FIB lookups see this empty namespace only
    obj = BpfObject.open(OBJECT);
    m = dataplaneMaps(obj);
  });
  afterAll(() => {
    obj?.close();
    deleteNetns(ns);
  });

  for (const name of ['from_pod', 'from_netdev'] as const) {
    it(`${name}: every verdict is pass, drop or redirect, and every rewrite keeps the packet whole and its checksums right`, () => {
      const prog: BpfProgram = obj!.program(name);
      const seed = 0x5157 + name.length;
      const r = prng(seed);
      let runs = 0,
        rewritten = 0,
        refused = 0;
      for (let round = 0; round < ROUNDS; round++) {
        if (round % 50 === 0) {
          for (const map of Object.values(m)) map.clear();
          program(m);
          inNetns(ns, () => testRun(prog, BASES[1][1])); // the established flow and its reply entry
        }
        for (const [base, frame] of BASES) {
          for (const [mutation, bend] of Object.entries(MUTATIONS)) {
            const input = bend(Buffer.from(frame), r);
            if (input.length < 14) continue; // test_run wants at least an Ethernet header
            const before = checkFrame(input);
            let out: ReturnType<typeof testRun>;
            try {
              out = inNetns(ns, () => testRun(prog, input));
            } catch (err) {
              // The kernel's test_run itself refuses an IPv4 frame shorter than Ethernet + 20.
              if (input.length < 34 && (err as Error).message.includes('EINVAL')) {
                refused++;
                continue;
              }
              throw new Error(
                `${(err as Error).message}: ${base}, ${mutation}, ${input.length} bytes: ${input.toString('hex')}`,
              );
            }
            runs++;
            const what = `seed ${seed} round ${round}: ${base}, ${mutation}: ${input.toString('hex')} → ${out.data.toString('hex')}`;
            expect(VERDICTS.has(out.retval), `verdict ${out.retval}; ${what}`).toBe(true);
            if (out.data.equals(input)) continue;
            rewritten++;
            const after = checkFrame(out.data);
            expect(after.whole, `rewrote a frame that is not a whole IPv4 packet; ${what}`).toBe(true);
            if (before.ip) expect(after.ip, `IP checksum broken by the rewrite; ${what}`).toBe(true);
            if (before.whole && before.l4) expect(after.l4, `L4 checksum broken by the rewrite; ${what}`).toBe(true);
          }
        }
      }
      console.log(
        `${name}: ${runs} malformed frames, ${rewritten} rewritten, all verdicts and checksums sound (${refused} too short for test_run)`,
      );
      expect(runs).toBeGreaterThan(19_000);
    });
  }
});
