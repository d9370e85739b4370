// A PROG_TEST_RUN fixture for the IPv6 data path: switchyard.o loaded without pins, its v6 maps
// typed with the src/abi codecs, and a writer for one frontend the way the control plane writes it
// (backends6, then slots, then frontends6). Runs in a namespace of its own, the routed node:
// uplink fd00:250::11/64, node B's pod range fd00:244:2::/64 via fd00:250::12, permanent neighbours
// for node B and the outside client, forwarding on, so packets routed in BPF get exact MACs.
import { execFileSync } from 'node:child_process';
import {
  BE_LOCAL,
  IPPROTO_TCP,
  SCOPE_INTERNAL,
  type Affinity,
  type Affinity6Key,
  type Backend6,
  type Config6,
  type Ct6Entry,
  type Ct6Key,
  type Frontend,
  type Frontend6Key,
  type SourceRange6Key,
} from '../../src/abi/index.js';
import * as layouts from '../../src/abi/layouts.js';
import { BpfObject, inNetns, testRun, type TypedMap } from '../../src/bpf/index.js';
import { dataplaneMaps, type DataplaneMaps } from '../../src/dataplane/maps.js';
import { buildPacket6, type Packet6Spec } from '../../src/net/packet6.js';
import { createNetns, deleteNetns, nsExec, run as sh, uniqueName } from './namespaces.js';

const ROOT = new URL('../..', import.meta.url).pathname;

export interface Backend6Spec {
  id: number;
  addr: string;
  port: number;
  local?: boolean;
}

export interface Frontend6Spec {
  addr: string;
  port: number;
  proto?: number;
  scope?: number;
  svcId?: number;
  setId?: number;
  flags?: number;
  affinityTimeout?: number;
  backends: Backend6Spec[];
  /** loadBalancerSourceRanges as CIDRs, for frontends flagged FE_SOURCE_RANGES. */
  sourceRanges?: string[];
}

export interface V6Maps {
  frontends6: TypedMap<Frontend6Key, Frontend>;
  backends6: TypedMap<number, Backend6>;
  conntrack6: TypedMap<Ct6Key, Ct6Entry>;
  ctNew6: TypedMap<Ct6Key, Ct6Entry>;
  affinity6: TypedMap<Affinity6Key, Affinity>;
  sourceRanges6: TypedMap<SourceRange6Key, number>;
  config6: TypedMap<number, Config6>;
}

export const NODE6_A = 'fd00:250::11',
  NODE6_B = 'fd00:250::12',
  CLIENT6 = 'fd00:250::200';
export const NODE_B_MAC = '02:00:00:00:0b:0b',
  CLIENT_MAC = '02:00:00:00:0c:0c';

export interface Fixture6 {
  m: DataplaneMaps;
  /** The uplink's MAC: the source of frames routed in BPF. */
  uplinkMac: string;
  v6: V6Maps;
  pod(spec: Packet6Spec | Buffer): { retval: number; data: Buffer; input: Buffer };
  netdev(spec: Packet6Spec | Buffer): { retval: number; data: Buffer; input: Buffer };
  /** to_pod: what the node stack sends out a pod veth (egress); no ingress device unless given. */
  toPod(spec: Packet6Spec | Buffer, o?: { ingressIfindex?: number }): { retval: number; data: Buffer; input: Buffer };
  addFrontend(s: Frontend6Spec): void;
  counter(idx: number): bigint;
  /** Empties every map the data path writes or the fixture filled. */
  clear(): void;
  close(): void;
}

/** The routed node's namespace and its peer; returns the uplink's MAC and a cleanup. */
function routedNode(ns: string, peerNs: string): string {
  const uplink = uniqueName('sy6u');
  createNetns(ns);
  createNetns(peerNs);
  sh('ip', ['-n', ns, 'link', 'add', uplink, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', peerNs]);
  sh('ip', ['-n', ns, '-6', 'addr', 'add', `${NODE6_A}/64`, 'dev', uplink, 'nodad']);
  sh('ip', ['-n', ns, 'link', 'set', uplink, 'up']);
  sh('ip', ['-n', peerNs, 'link', 'set', 'eth0', 'up']);
  nsExec(ns, ['sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1']);
  sh('ip', ['-n', ns, '-6', 'route', 'add', 'fd00:244:2::/64', 'via', NODE6_B, 'dev', uplink]);
  for (const [addr, mac] of [
    [NODE6_B, NODE_B_MAC],
    [CLIENT6, CLIENT_MAC],
  ]) {
    sh('ip', ['-n', ns, '-6', 'neigh', 'add', addr, 'lladdr', mac, 'dev', uplink, 'nud', 'permanent']);
  }
  return (JSON.parse(sh('ip', ['-n', ns, '-j', 'link', 'show', 'dev', uplink])) as Array<{ address: string }>)[0]
    .address;
}

/** The MACs every IPv6 data-path test frame carries (the programs never read them). */
export const L2 = { src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02' };

/** A TCP segment @src:@sport → @dst:@dport with @flags (seq 1000; ack 77 when A is set). */
export function tcp6(src: string, dst: string, sport: number, dport: number, flags = 'S'): Packet6Spec {
  return { eth: L2, ip: { src, dst }, tcp: { sport, dport, flags, seq: 1000, ack: flags.includes('A') ? 77 : 0 } };
}

/** The same packet with addresses and ports replaced: what a correct translation produces. */
export function rewritten(s: Packet6Spec, to: { src?: string; dst?: string; sport?: number; dport?: number }): Buffer {
  const l4 = (p: { sport: number; dport: number }) => ({ sport: to.sport ?? p.sport, dport: to.dport ?? p.dport });
  return buildPacket6({
    ...s,
    ip: { ...s.ip, src: to.src ?? s.ip.src, dst: to.dst ?? s.ip.dst },
    ...(s.tcp ? { tcp: { ...s.tcp, ...l4(s.tcp) } } : {}),
    ...(s.udp ? { udp: { ...s.udp, ...l4(s.udp) } } : {}),
  });
}

export function openFixture6(): Fixture6 {
  execFileSync('make', ['-s', '-C', ROOT, 'build/bpf/switchyard.o'], { stdio: 'inherit' });
  const ns = uniqueName('sy6a'),
    peerNs = uniqueName('sy6b');
  let uplinkMac: string;
  let obj: BpfObject;
  try {
    uplinkMac = routedNode(ns, peerNs);
    // Inside the try: an object the verifier refuses must not leave the namespaces behind.
    obj = BpfObject.open(`${ROOT}build/bpf/switchyard.o`);
  } catch (err) {
    for (const n of [ns, peerNs]) {
      try {
        deleteNetns(n);
      } catch {
        /* not created */
      }
    }
    throw err;
  }
  const m = dataplaneMaps(obj);
  const v6: V6Maps = {
    frontends6: obj.map('frontends6', layouts.frontend6Key, layouts.frontend),
    backends6: obj.map('backends6', layouts.u32, layouts.backend6),
    conntrack6: obj.map('conntrack6', layouts.ct6Key, layouts.ct6Entry),
    ctNew6: obj.map('ct_new6', layouts.ct6Key, layouts.ct6Entry),
    affinity6: obj.map('affinity6', layouts.affinity6Key, layouts.affinity),
    sourceRanges6: obj.map('source_ranges6', layouts.sourceRange6Key, layouts.u8),
    config6: obj.map('config6', layouts.u32, layouts.config6),
  };
  const run = (name: string) => {
    const prog = obj.program(name);
    return (spec: Packet6Spec | Buffer, o: { ingressIfindex?: number } = {}) => {
      const input = Buffer.isBuffer(spec) ? spec : buildPacket6(spec);
      return { ...inNetns(ns, () => testRun(prog, input, o)), input };
    };
  };
  return {
    m,
    uplinkMac,
    v6,
    pod: run('from_pod'),
    netdev: run('from_netdev'),
    toPod: run('to_pod'),
    addFrontend(s) {
      const setId = s.setId ?? 1,
        svcId = s.svcId ?? 1;
      for (const b of s.backends) v6.backends6.set(b.id, { addr: b.addr, port: b.port, flags: b.local ? BE_LOCAL : 0 });
      s.backends.forEach((b, i) => {
        m.slots.set({ setId, slot: i + 1, gen: 0 }, b.id);
      });
      for (const cidr of s.sourceRanges ?? []) {
        const [addr, len] = cidr.split('/');
        v6.sourceRanges6.set({ prefixlen: 32 + Number(len), svcId, addr }, 1);
      }
      v6.frontends6.set(
        { addr: s.addr, port: s.port, proto: s.proto ?? IPPROTO_TCP, scope: s.scope ?? SCOPE_INTERNAL },
        {
          svcId,
          setId,
          affinityTimeout: s.affinityTimeout ?? 0,
          count: s.backends.length,
          gen: 0,
          flags: s.flags ?? 0,
        },
      );
    },
    counter: (idx) => (m.counters.get(idx) ?? []).reduce((a, b) => a + b, 0n),
    clear() {
      for (const map of Object.values(v6)) map.clear();
      m.slots.clear();
      m.counters.clear();
      m.stats.clear();
      m.ctReplySrc.clear(); // the reply-source filter both families share
    },
    close() {
      obj.close();
      for (const n of [ns, peerNs]) deleteNetns(n);
    },
  };
}
