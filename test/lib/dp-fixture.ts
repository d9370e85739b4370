// A PROG_TEST_RUN fixture node for the data-path hardening tests (fragments, ICMP errors, MTU,
// reply-key collisions), set up like datapath-nodeport.test.ts: a namespace with an uplink
// (10.250.0.11/24), node B's pod CIDR via 10.250.0.12, permanent neighbours, and a local pod behind
// a veth, so BPF-routed packets get exact MACs. Nothing is attached anywhere. Also: fragmenting
// and ICMP-error frame builders. (Helper lines overlap the two older datapath tests on purpose.)
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { BpfObject, inNetns, testRun, type BpfProgram } from '../../src/bpf/index.js';
import { BE_LOCAL, FE_NODEPORT, IPPROTO_TCP, SCOPE_EXTERNAL } from '../../src/abi/index.js';
import { dataplaneMaps, type DataplaneMaps } from '../../src/dataplane/maps.js';
import { buildPacket, inetChecksum, type PacketSpec } from './packet.js';
import { eth } from './datapath.js';

// The packet helpers every datapath suite shares live in datapath.ts; these fixtures add the
// routed node-A namespace, fragments and ICMP errors.
export { ctKey, eth, translated } from './datapath.js';
import { createNetns, deleteNetns, nsExec, run as sh, uniqueName } from './namespaces.js';

const ROOT = new URL('../..', import.meta.url).pathname;
export const TC_ACT_OK = 0,
  TC_ACT_SHOT = 2,
  TC_ACT_REDIRECT = 7;
export const NODE_A = '10.250.0.11',
  NODE_B = '10.250.0.12',
  CLIENT = '10.250.0.200';
export const NODE_PORT = 30080,
  VIP = '10.96.0.10',
  POD_A = '10.244.1.11';
export const NODE_B_MAC = '02:00:00:00:0b:0b',
  CLIENT_MAC = '02:00:00:00:0c:0c';
export const ROUTER_MAC = '02:00:00:00:00:fe',
  POD_MAC = '02:00:00:00:00:01',
  GW_MAC = '02:00:00:00:00:02';

export interface BackendSpec {
  id: number;
  addr: string;
  port: number;
  local: boolean;
}
export const LOCAL1: BackendSpec = { id: 201, addr: '10.244.1.21', port: 8080, local: true };
export const LOCAL2: BackendSpec = { id: 202, addr: '10.244.1.22', port: 8080, local: true };
export const REMOTE1: BackendSpec = { id: 301, addr: '10.244.2.31', port: 8080, local: false };

export interface FrontendSpec {
  addr?: string;
  port?: number;
  proto?: number;
  scope?: number;
  svcId?: number;
  setId?: number;
  backends: BackendSpec[];
  flags?: number;
}

export interface Fixture {
  m: DataplaneMaps;
  uplink: string;
  uplinkMac: string;
  podHostMac: string;
  netdev(frame: PacketSpec | Buffer): { retval: number; data: Buffer; input: Buffer; durationNs: number };
  pod(frame: PacketSpec | Buffer): { retval: number; data: Buffer; input: Buffer; durationNs: number };
  /** to_pod: what the node stack sends out a pod veth (egress). */
  toPod(
    frame: PacketSpec | Buffer,
    o?: { ingressIfindex?: number },
  ): { retval: number; data: Buffer; input: Buffer; durationNs: number };
  /** Writes a frontend the way the control plane does: backends, then slots, then the frontend. */
  addFrontend(s: FrontendSpec): void;
  counter(idx: number): bigint;
  /** Runs a command in the fixture namespace (ip link set ... mtu ...). */
  ip(args: string[]): string;
  close(): void;
}

/** Opens one fixture for the enclosing describe (handed to @use before the first test), closes
 *  it after the last, and empties its maps before each test, so tests never see each other's
 *  entries. */
export function useFixture(use: (f: Fixture) => void): void {
  let f: Fixture | undefined;
  beforeAll(() => {
    f = openFixture();
    use(f);
  });
  afterAll(() => f?.close());
  beforeEach(() => {
    for (const map of Object.values(f!.m)) map.clear();
  });
}

export function openFixture(): Fixture {
  execFileSync('make', ['-s', '-C', ROOT, 'build/bpf/switchyard.o'], { stdio: 'inherit' });
  const ns = uniqueName('syhda'),
    peerNs = uniqueName('syhdb'),
    uplink = uniqueName('syhu'),
    podIf = uniqueName('syhh');
  let obj: BpfObject | undefined;
  try {
    createNetns(ns);
    createNetns(peerNs);
    sh('ip', ['-n', ns, 'link', 'add', uplink, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', peerNs]);
    sh('ip', ['-n', ns, 'addr', 'add', `${NODE_A}/24`, 'dev', uplink]);
    sh('ip', ['-n', ns, 'link', 'set', uplink, 'up']);
    sh('ip', ['-n', peerNs, 'link', 'set', 'eth0', 'up']);
    sh('ip', ['-n', ns, 'route', 'add', '10.244.2.0/24', 'via', NODE_B, 'dev', uplink]);
    for (const [addr, mac] of [
      [NODE_B, NODE_B_MAC],
      [CLIENT, CLIENT_MAC],
    ]) {
      sh('ip', ['-n', ns, 'neigh', 'add', addr, 'lladdr', mac, 'dev', uplink, 'nud', 'permanent']);
    }
    sh('ip', ['-n', ns, 'link', 'add', podIf, 'type', 'veth', 'peer', 'name', 'eth1', 'netns', peerNs]);
    sh('ip', ['-n', ns, 'link', 'set', podIf, 'up']);
    sh('ip', ['-n', peerNs, 'link', 'set', 'eth1', 'up']);
    sh('ip', ['-n', ns, 'route', 'add', `${POD_A}/32`, 'dev', podIf]);
    sh('ip', ['-n', ns, 'neigh', 'add', POD_A, 'lladdr', POD_MAC, 'dev', podIf, 'nud', 'permanent']);
    nsExec(ns, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    const macOf = (ifname: string) =>
      (JSON.parse(sh('ip', ['-n', ns, '-j', 'link', 'show', 'dev', ifname])) as Array<{ address: string }>)[0].address;
    obj = BpfObject.open(`${ROOT}build/bpf/switchyard.o`);
    const o = obj;
    const m = dataplaneMaps(o);
    const runOn = (prog: BpfProgram, spec: PacketSpec | Buffer, o: { ingressIfindex?: number } = {}) => {
      const input = Buffer.isBuffer(spec) ? spec : buildPacket(spec);
      return { ...inNetns(ns, () => testRun(prog, input, o)), input };
    };
    const fromNetdev = o.program('from_netdev'),
      fromPod = o.program('from_pod'),
      toPod = o.program('to_pod');
    return {
      m,
      uplink,
      uplinkMac: macOf(uplink),
      podHostMac: macOf(podIf),
      netdev: (f) => runOn(fromNetdev, f),
      pod: (f) => runOn(fromPod, f),
      toPod: (f, o) => runOn(toPod, f, o),
      addFrontend(s) {
        const setId = s.setId ?? 1;
        m.backends.setMany(
          s.backends.map((b) => [b.id, { addr: b.addr, port: b.port, flags: b.local ? BE_LOCAL : 0 }] as const),
        );
        m.slots.setMany(s.backends.map((b, i) => [{ setId, slot: i + 1, gen: 0 }, b.id] as const));
        m.frontends.set(
          {
            addr: s.addr ?? NODE_A,
            port: s.port ?? NODE_PORT,
            proto: s.proto ?? IPPROTO_TCP,
            scope: s.scope ?? SCOPE_EXTERNAL,
          },
          {
            svcId: s.svcId ?? 1,
            setId,
            affinityTimeout: 0,
            count: s.backends.length,
            gen: 0,
            flags: s.flags ?? FE_NODEPORT,
          },
        );
      },
      counter: (idx) => (m.counters.get(idx) ?? []).reduce((a, b) => a + b, 0n),
      ip: (args) => sh('ip', ['-n', ns, ...args]),
      close() {
        o.close();
        for (const n of [ns, peerNs]) deleteNetns(n);
      },
    };
  } catch (err) {
    obj?.close();
    for (const n of [ns, peerNs]) {
      try {
        deleteNetns(n);
      } catch {
        /* not created */
      }
    }
    throw err;
  }
}

export function udp(
  src: string,
  dst: string,
  sport: number,
  dport: number,
  payload: Buffer,
  l2 = eth(ROUTER_MAC, GW_MAC),
  id = 4242,
): PacketSpec {
  return { eth: l2, ip: { src, dst, ttl: 63, id }, udp: { sport, dport }, payload };
}

export function tcp(
  src: string,
  dst: string,
  sport: number,
  dport: number,
  flags = 'S',
  l2 = eth(ROUTER_MAC, GW_MAC),
  payload?: Buffer,
): PacketSpec {
  return {
    eth: l2,
    ip: { src, dst, ttl: 63, id: 4242 },
    tcp: { sport, dport, flags, seq: 1000, ack: flags.includes('A') ? 77 : 0 },
    payload,
  };
}

/**
 * Splits a whole Ethernet + IPv4 frame into IP fragments carrying at most `chunk` bytes of IP payload
 * each (a multiple of 8), as a sender would: same id, MF on all but the last, DF cleared.
 */
export function fragment(frame: Buffer, chunk: number): Buffer[] {
  if (chunk % 8) throw new Error(`fragment: chunk ${chunk} is not a multiple of 8`);
  const ihl = (frame[14] & 0x0f) * 4,
    body = frame.subarray(14 + ihl, 14 + frame.readUInt16BE(16));
  const out: Buffer[] = [];
  for (let off = 0; off < body.length; off += chunk) {
    const part = body.subarray(off, off + chunk);
    const ip = Buffer.from(frame.subarray(14, 14 + ihl));
    ip.writeUInt16BE(ihl + part.length, 2);
    ip.writeUInt16BE((off + chunk < body.length ? 0x2000 : 0) | (off / 8), 6);
    ip.writeUInt16BE(0, 10);
    ip.writeUInt16BE(inetChecksum(ip), 10);
    out.push(Buffer.concat([frame.subarray(0, 14), ip, part]));
  }
  return out;
}

/** An ICMP error frame from `src` to `dst` quoting the first 28 bytes of the IP packet in `about`. */
export function icmpError(
  src: string,
  dst: string,
  type: number,
  code: number,
  about: Buffer,
  l2 = eth(ROUTER_MAC, GW_MAC),
  rest = 0,
): PacketSpec {
  return {
    eth: l2,
    ip: { src, dst, ttl: 64, id: 7 },
    icmp: { type, code, rest, body: Buffer.from(about.subarray(14, 14 + 28)) },
  };
}
