// What the BPF_PROG_TEST_RUN datapath suites share: packet spec builders, the expected
// translation of a packet, running a program (in a namespace when routing matters), reading
// per-CPU counters, and ServiceTable, which writes Services the way the agent does: a
// DesiredState with the fixture's own ids, through the real plan and reconciler.
import { pino } from 'pino';
import { BE_LOCAL, IPPROTO_UDP, SCOPE_EXTERNAL, type Config, type CtKey, type Stats } from '../../src/abi/index.js';
import { inNetns, testRun, type BpfProgram } from '../../src/bpf/index.js';
import {
  frontendKeyString,
  type DesiredFrontend,
  type DesiredState,
  type ServicePortInfo,
} from '../../src/compile/index.js';
import type { DataplaneMaps } from '../../src/dataplane/maps.js';
import { Reconciler } from '../../src/dataplane/reconciler.js';
import { buildPacket, type PacketSpec } from './packet.js';

export interface Eth {
  src: string;
  dst: string;
}
export const eth = (src: string, dst: string): Eth => ({ src, dst });
/** config[0] as the agent writes it with no SNAT address and no pod range. */
const NO_CONFIG: Config = { snatAddr: '0.0.0.0', podNet: '0.0.0.0', podMask: '0.0.0.0' };

export function tcpSpec(
  l2: Eth,
  src: string,
  dst: string,
  sport: number,
  dport: number,
  flags = 'S',
  payload?: Buffer,
): PacketSpec {
  return {
    eth: l2,
    ip: { src, dst, ttl: 63, id: 4242 },
    tcp: { sport, dport, flags, seq: 1000, ack: flags.includes('A') ? 77 : 0 },
    payload,
  };
}

export function udpSpec(
  l2: Eth,
  src: string,
  dst: string,
  sport: number,
  dport: number,
  payload: Buffer = Buffer.from('query'),
): PacketSpec {
  return { eth: l2, ip: { src, dst, ttl: 63, id: 4242 }, udp: { sport, dport }, payload };
}

export interface Rewrite {
  src?: string;
  dst?: string;
  sport?: number;
  dport?: number;
  ttl?: number;
  eth?: Eth;
}

/** The same packet rewritten: what a correct translation must produce (ttl and MACs as given). */
export function translated(spec: PacketSpec, to: Rewrite): Buffer {
  const ip = { ...spec.ip, src: to.src ?? spec.ip.src, dst: to.dst ?? spec.ip.dst, ttl: to.ttl ?? spec.ip.ttl };
  const l4 = (p: { sport: number; dport: number }) => ({ sport: to.sport ?? p.sport, dport: to.dport ?? p.dport });
  return buildPacket({
    ...spec,
    ip,
    eth: to.eth ?? spec.eth,
    ...(spec.tcp ? { tcp: { ...spec.tcp, ...l4(spec.tcp) } } : {}),
    ...(spec.udp ? { udp: { ...spec.udp, ...l4(spec.udp) } } : {}),
  });
}

/** Runs `prog` on the packet, inside network namespace `netns` when given (its FIB routes). */
export function runProgram(prog: BpfProgram, spec: PacketSpec | Buffer, netns?: string) {
  const input = Buffer.isBuffer(spec) ? spec : buildPacket(spec);
  const r = netns ? inNetns(netns, () => testRun(prog, input)) : testRun(prog, input);
  return { ...r, input };
}

export function statsOf(m: DataplaneMaps, svcId: number): Stats {
  const perCpu = m.stats.get(svcId) ?? [];
  const sum = (f: keyof Stats) => perCpu.reduce((a, s) => a + s[f], 0n);
  return { packets: sum('packets'), bytes: sum('bytes'), newFlows: sum('newFlows'), noBackend: sum('noBackend') };
}

/** A counters map entry (CNT_*) summed over CPUs. */
export function counter(m: DataplaneMaps, idx: number): bigint {
  return (m.counters.get(idx) ?? []).reduce((a, b) => a + b, 0n);
}

export const ctKey = (
  saddr: string,
  daddr: string,
  sport: number,
  dport: number,
  proto: number,
  dir: number,
): CtKey => ({ saddr, daddr, sport, dport, proto, dir });

export interface BackendSpec {
  id: number;
  addr: string;
  port: number;
  local?: boolean;
}

/** One frontend of a fixture Service; what is left out comes from the ServiceTable's defaults. */
export interface ServiceSpec {
  addr?: string;
  port?: number;
  proto?: number;
  scope?: number;
  svcId?: number;
  setId?: number;
  backends: BackendSpec[];
  affinityTimeout?: number;
  flags?: number;
  /** loadBalancerSourceRanges, checked on frontends flagged FE_SOURCE_RANGES. */
  sourceRanges?: string[];
}

type Defaults = Required<Pick<ServiceSpec, 'addr' | 'port' | 'scope' | 'flags'>>;

/**
 * The fixture's Services as one desired state with hand-picked ids (so a test can name svc 7's
 * stats or set 5's affinity entry), written through planWrites() and the Reconciler like the
 * agent's. Each add() re-syncs the whole state: re-adding a set id replaces the set, and the plan
 * flips it to the other generation and deletes the backends it no longer names.
 */
export class ServiceTable {
  private reconciler!: Reconciler;
  private readonly frontends = new Map<string, DesiredFrontend>();
  private readonly sets = new Map<number, BackendSpec[]>();
  private readonly services = new Map<number, ServicePortInfo>();
  private config: Config | undefined;

  constructor(
    private readonly maps: DataplaneMaps,
    private readonly defaults: Defaults,
  ) {
    this.reset();
  }

  /** Forgets every Service; call after clearing the maps. */
  reset(): void {
    this.frontends.clear();
    this.sets.clear();
    this.services.clear();
    this.config = undefined;
    this.reconciler = new Reconciler(this.maps, pino({ level: 'silent' }));
  }

  add(s: ServiceSpec): void {
    const d = this.defaults;
    const setId = s.setId ?? 1,
      svcId = s.svcId ?? 1,
      port = s.port ?? d.port,
      proto = s.proto ?? 6;
    const key = { addr: s.addr ?? d.addr, port, proto, scope: s.scope ?? d.scope };
    this.frontends.set(frontendKeyString(key), {
      key,
      svcId,
      setId,
      affinityTimeout: s.affinityTimeout ?? 0,
      flags: s.flags ?? d.flags,
    });
    this.sets.set(setId, s.backends);
    this.services.set(svcId, {
      namespace: 'fixture',
      name: `svc${svcId}`,
      portName: '',
      protocol: proto === IPPROTO_UDP ? 'UDP' : 'TCP',
      port,
      targetPort: port,
      type: key.scope === SCOPE_EXTERNAL ? 'NodePort' : 'ClusterIP',
      clusterIP: '',
      affinityTimeout: s.affinityTimeout ?? 0,
      externalTrafficPolicy: 'Cluster',
      internalTrafficPolicy: 'Cluster',
      sourceRanges: s.sourceRanges ?? [],
      frontends: [],
      sets: { all: setId },
      identity: `fixture/svc${svcId}`,
    });
    this.sync();
  }

  /** config[0]: the SNAT address for external flows to remote backends. */
  snat(addr: string): void {
    this.config = { ...(this.config ?? NO_CONFIG), snatAddr: addr };
    this.sync();
  }

  /** config[0]: the IPv4 pod range (--cluster-cidr), as network and mask. */
  podRange(net: string, mask: string): void {
    this.config = { ...(this.config ?? NO_CONFIG), podNet: net, podMask: mask };
    this.sync();
  }

  private sync(): void {
    const backends = new Map<number, { addr: string; port: number; flags: number }>();
    for (const members of this.sets.values()) {
      for (const b of members) backends.set(b.id, { addr: b.addr, port: b.port, flags: b.local ? BE_LOCAL : 0 });
    }
    const desired: DesiredState = {
      frontends: [...this.frontends.values()],
      sets: new Map([...this.sets].map(([id, members]) => [id, members.map((b) => b.id)])),
      backends,
      services: new Map(this.services),
      healthCheck: [],
      conflicts: [],
      refused: [],
      config: this.config,
    };
    this.reconciler.sync(desired);
  }
}
