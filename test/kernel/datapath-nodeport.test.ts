// Acceptance fixtures for from_netdev (bpf/switchyard.c), NodePort and the multi-node path: a
// crafted frame in, BPF_PROG_TEST_RUN, the frame out — bytes, verdict and map side effects.
//
// Flows whose new source may be this node's own address are routed in BPF (bpf/fib.h): a FIB
// lookup in the namespace the test run happens in. So the runs happen inside a namespace made
// here, set up like node A of the lab: an uplink with 10.250.0.11/24, the pod CIDR of node B
// (10.244.2.0/24) via 10.250.0.12, and permanent neighbours for node B and the client, which
// makes the expected MACs and the egress device exact. Nothing is attached anywhere.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { BpfObject, inNetns, testRun, type BpfProgram } from '../../src/bpf/index.js';
import { NS_PER_S, ago, monotonicNs, skipStep } from '../lib/clock.js';
import {
  CNT_FIB_PASSED,
  CNT_SNAT_EXHAUSTED,
  CNT_SOURCE_DENIED,
  CT_CLOSING,
  CT_FORWARD,
  CT_NODEPORT,
  CT_REPLY,
  FE_LOCAL_ONLY,
  FE_NODEPORT,
  FE_SOURCE_RANGES,
  IPPROTO_TCP,
  IPPROTO_UDP,
  SCOPE_EXTERNAL,
  SCOPE_INTERNAL,
  SNAT_PORT_RANGES,
  SNAT_TCP_REUSE_S,
  isSnatPort,
  type CtEntry,
  type CtKey,
} from '../../src/abi/index.js';
import { buildPacket, parsePacket, type PacketSpec } from '../lib/packet.js';
import {
  ServiceTable,
  counter as counterOf,
  ctKey,
  eth,
  runProgram,
  statsOf as statsOfMap,
  tcpSpec,
  translated,
  udpSpec,
  type BackendSpec,
  type ServiceSpec,
} from '../lib/datapath.js';
import { createNetns, deleteNetns, nsExec, run as sh, uniqueName } from '../lib/namespaces.js';
import { describeRoot } from '../lib/root.js';
import { dataplaneMaps, type DataplaneMaps } from '../../src/dataplane/maps.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const OBJECT = `${ROOT}build/bpf/switchyard.o`;

const TC_ACT_OK = 0,
  TC_ACT_SHOT = 2,
  TC_ACT_REDIRECT = 7;
/** Older than SY_CT_LIFETIME_UDP (60 s). */
const UDP_STALE = 65n * NS_PER_S;

const NODE_A = '10.250.0.11';
const NODE_B = '10.250.0.12';
const CLIENT = '10.250.0.200';
const CLIENT2 = '10.250.0.201';
const OUTSIDER = '192.0.2.7';
const NOT_A_NODE = '10.250.0.99';
const NODE_PORT = 30080;
const EXTERNAL_IP = '10.99.0.1';
const LB_IP = '10.99.0.2';
const VIP = '10.96.0.10';
const POD_A = '10.244.1.11';

const NODE_B_MAC = '02:00:00:00:0b:0b';
const CLIENT_MAC = '02:00:00:00:0c:0c';
const CLIENT2_MAC = '02:00:00:00:0c:0d';
const ROUTER_MAC = '02:00:00:00:00:fe'; // whatever sent the frame to us
const POD_MAC = '02:00:00:00:00:01';

const LOCAL1: BackendSpec = { id: 201, addr: '10.244.1.21', port: 8080, local: true };
const REMOTE1: BackendSpec = { id: 301, addr: '10.244.2.31', port: 8080, local: false };
const REMOTE2: BackendSpec = { id: 302, addr: '10.244.2.32', port: 8080, local: false };

let obj: BpfObject | undefined;
let fromNetdev: BpfProgram;
let fromPod: BpfProgram;
let m: DataplaneMaps;
let table: ServiceTable;
let ns = '';
let peerNs = '';
let uplinkMac = '';
let podHostMac = '';

/** NodePort frontends unless a test says otherwise: NODE_A:NODE_PORT from outside. */
const addFrontend = (s: ServiceSpec) => table.add(s);
const ROUTER_L2 = eth(ROUTER_MAC, '02:00:00:00:aa:aa');
const tcp = (src: string, dst: string, sport: number, dport: number, flags = 'S', l2 = ROUTER_L2) =>
  tcpSpec(l2, src, dst, sport, dport, flags);
const udp = (src: string, dst: string, sport: number, dport: number, payload = Buffer.from('query'), l2 = ROUTER_L2) =>
  udpSpec(l2, src, dst, sport, dport, payload);
/** Runs inside the fixture namespace: its FIB decides where routed packets go. */
const netdev = (spec: PacketSpec | Buffer) => runProgram(fromNetdev, spec, ns);
const pod = (spec: PacketSpec | Buffer) => runProgram(fromPod, spec, ns);
const counter = (idx: number) => counterOf(m, idx);
const statsOf = (svcId: number) => statsOfMap(m, svcId);

/** The single SNAT'd reply entry toward `backend`, i.e. the port this node allocated. */
function snatPortOf(data: Buffer): number {
  return parsePacket(data).tcp?.sport ?? parsePacket(data).udp!.sport;
}

describeRoot('from_netdev: NodePort and the multi-node path (BPF_PROG_TEST_RUN)', () => {
  beforeAll(() => {
    execFileSync('make', ['-s', '-C', ROOT, 'build/bpf/switchyard.o'], { stdio: 'inherit' });
    ns = uniqueName('synpa');
    peerNs = uniqueName('synpb');
    const uplink = uniqueName('synu');
    createNetns(ns);
    createNetns(peerNs);
    sh('ip', ['-n', ns, 'link', 'add', uplink, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', peerNs]);
    sh('ip', ['-n', ns, 'addr', 'add', `${NODE_A}/24`, 'dev', uplink]);
    sh('ip', ['-n', ns, 'link', 'set', uplink, 'up']);
    sh('ip', ['-n', peerNs, 'link', 'set', 'eth0', 'up']);
    sh('ip', ['-n', ns, 'route', 'add', '10.244.2.0/24', 'via', NODE_B, 'dev', uplink]);
    sh('ip', ['-n', ns, 'route', 'add', '192.0.2.0/24', 'via', NODE_B, 'dev', uplink]);
    for (const [addr, mac] of [
      [NODE_B, NODE_B_MAC],
      [CLIENT, CLIENT_MAC],
      [CLIENT2, CLIENT2_MAC],
    ]) {
      sh('ip', ['-n', ns, 'neigh', 'add', addr, 'lladdr', mac, 'dev', uplink, 'nud', 'permanent']);
    }
    // A local pod behind a veth, routed like the lab's (a /32 and a permanent neighbour).
    const podIf = uniqueName('synh');
    sh('ip', ['-n', ns, 'link', 'add', podIf, 'type', 'veth', 'peer', 'name', 'eth1', 'netns', peerNs]);
    sh('ip', ['-n', ns, 'link', 'set', podIf, 'up']);
    sh('ip', ['-n', peerNs, 'link', 'set', 'eth1', 'up']);
    sh('ip', ['-n', ns, 'route', 'add', `${POD_A}/32`, 'dev', podIf]);
    sh('ip', ['-n', ns, 'neigh', 'add', POD_A, 'lladdr', POD_MAC, 'dev', podIf, 'nud', 'permanent']);
    nsExec(ns, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    const macOf = (ifname: string) =>
      (JSON.parse(sh('ip', ['-n', ns, '-j', 'link', 'show', 'dev', ifname])) as Array<{ address: string }>)[0].address;
    uplinkMac = macOf(uplink);
    podHostMac = macOf(podIf);

    obj = BpfObject.open(OBJECT);
    fromNetdev = obj.program('from_netdev');
    fromPod = obj.program('from_pod');
    m = dataplaneMaps(obj);
    table = new ServiceTable(m, { addr: NODE_A, port: NODE_PORT, scope: SCOPE_EXTERNAL, flags: FE_NODEPORT });
  });

  afterAll(() => {
    obj?.close();
    for (const n of [ns, peerNs]) if (n) deleteNetns(n);
  });

  beforeEach(() => {
    for (const map of Object.values(m)) map.clear();
    table.reset();
  });

  // What the uplink sends toward a host on its segment: our MAC as source, theirs as destination.
  const toward = (mac: string) => eth(uplinkMac, mac);

  it('NodePort → local backend: DNAT only, the client address preserved; the reply leaves as the node', () => {
    addFrontend({ backends: [LOCAL1], svcId: 5 });
    const syn = tcp(CLIENT, NODE_A, 40000, NODE_PORT);
    const r = netdev(syn);

    expect(r.retval).toBe(TC_ACT_OK);
    expect(parsePacket(r.data)).toMatchObject({
      ip: { src: CLIENT, dst: LOCAL1.addr, checksumOk: true },
      tcp: { sport: 40000, dport: 8080, checksumOk: true },
    });
    expect(r.data).toEqual(translated(syn, { dst: LOCAL1.addr, dport: 8080 }));
    expect(m.ctNew.get(ctKey(CLIENT, NODE_A, 40000, NODE_PORT, IPPROTO_TCP, CT_FORWARD))).toMatchObject({
      nat: { saddr: '0.0.0.0', daddr: LOCAL1.addr, sport: 0, dport: 8080 },
      backendId: LOCAL1.id,
      svcId: 5,
      flags: CT_NODEPORT,
    });
    expect(m.ctNew.get(ctKey(LOCAL1.addr, CLIENT, 8080, 40000, IPPROTO_TCP, CT_REPLY))).toMatchObject({
      nat: { saddr: NODE_A, daddr: '0.0.0.0', sport: NODE_PORT, dport: 0 },
      flags: CT_NODEPORT,
    });
    expect(statsOf(5)).toMatchObject({ packets: 1n, newFlows: 1n });

    // The backend answers through its veth (from_pod). Its new source is the node's own address,
    // which the stack would drop as a martian: it is routed here, out of the uplink to the client.
    const synAck = tcp(LOCAL1.addr, CLIENT, 8080, 40000, 'SA', eth(POD_MAC, '02:00:00:00:00:02'));
    const ra = pod(synAck);
    expect(ra.retval).toBe(TC_ACT_REDIRECT);
    expect(parsePacket(ra.data)).toMatchObject({
      eth: { src: uplinkMac, dst: CLIENT_MAC },
      ip: { src: NODE_A, dst: CLIENT, ttl: 62, checksumOk: true },
      tcp: { sport: NODE_PORT, dport: 40000, flags: 'SA', checksumOk: true },
    });
    expect(ra.data).toEqual(translated(synAck, { src: NODE_A, sport: NODE_PORT, ttl: 62, eth: toward(CLIENT_MAC) }));
  });

  it("NodePort → remote backend: DNAT + SNAT to the node, routed to the backend's node; the reply undoes both", () => {
    addFrontend({ backends: [REMOTE1], svcId: 6 });
    const syn = tcp(CLIENT, NODE_A, 40000, NODE_PORT);
    const r = netdev(syn);

    expect(r.retval).toBe(TC_ACT_REDIRECT);
    const p = parsePacket(r.data);
    const port = p.tcp!.sport;
    expect(isSnatPort(port)).toBe(true);
    expect(p).toMatchObject({
      eth: { src: uplinkMac, dst: NODE_B_MAC },
      ip: { src: NODE_A, dst: REMOTE1.addr, ttl: 62, checksumOk: true },
      tcp: { dport: 8080, flags: 'S', checksumOk: true },
    });
    expect(r.data).toEqual(
      translated(syn, { src: NODE_A, dst: REMOTE1.addr, sport: port, dport: 8080, ttl: 62, eth: toward(NODE_B_MAC) }),
    );
    expect(m.ctNew.get(ctKey(CLIENT, NODE_A, 40000, NODE_PORT, IPPROTO_TCP, CT_FORWARD))).toMatchObject({
      nat: { saddr: NODE_A, daddr: REMOTE1.addr, sport: port, dport: 8080 },
      backendId: REMOTE1.id,
      flags: CT_NODEPORT,
    });
    expect(m.ctNew.get(ctKey(REMOTE1.addr, NODE_A, 8080, port, IPPROTO_TCP, CT_REPLY))).toMatchObject({
      nat: { saddr: NODE_A, daddr: CLIENT, sport: NODE_PORT, dport: 40000 },
      flags: CT_NODEPORT,
    });

    // Node B delivered it; the backend's answer comes back over the underlay to this uplink.
    const synAck = tcp(REMOTE1.addr, NODE_A, 8080, port, 'SA', eth(NODE_B_MAC, uplinkMac));
    const ra = netdev(synAck);
    expect(ra.retval).toBe(TC_ACT_REDIRECT);
    expect(parsePacket(ra.data)).toMatchObject({
      eth: { src: uplinkMac, dst: CLIENT_MAC },
      ip: { src: NODE_A, dst: CLIENT, ttl: 62, checksumOk: true },
      tcp: { sport: NODE_PORT, dport: 40000, flags: 'SA', checksumOk: true },
    });
    expect(ra.data).toEqual(
      translated(synAck, {
        src: NODE_A,
        dst: CLIENT,
        sport: NODE_PORT,
        dport: 40000,
        ttl: 62,
        eth: toward(CLIENT_MAC),
      }),
    );

    // The rest of the connection follows the entries.
    const ack = tcp(CLIENT, NODE_A, 40000, NODE_PORT, 'A');
    const rack = netdev(ack);
    expect(rack.retval).toBe(TC_ACT_REDIRECT);
    expect(rack.data).toEqual(
      translated(ack, { src: NODE_A, dst: REMOTE1.addr, sport: port, dport: 8080, ttl: 62, eth: toward(NODE_B_MAC) }),
    );
  });

  it('translates UDP both ways through a remote backend, checksums valid, a zero UDP checksum kept zero', () => {
    addFrontend({ proto: IPPROTO_UDP, backends: [REMOTE2] });
    const q = udp(CLIENT, NODE_A, 33333, NODE_PORT);
    const r = netdev(q);
    expect(r.retval).toBe(TC_ACT_REDIRECT);
    const port = snatPortOf(r.data);
    expect(parsePacket(r.data)).toMatchObject({
      ip: { src: NODE_A, dst: REMOTE2.addr, checksumOk: true },
      udp: { dport: 8080, checksumOk: true },
    });
    expect(r.data).toEqual(
      translated(q, { src: NODE_A, dst: REMOTE2.addr, sport: port, dport: 8080, ttl: 62, eth: toward(NODE_B_MAC) }),
    );

    const a = udp(REMOTE2.addr, NODE_A, 8080, port, Buffer.from('answer!'), eth(NODE_B_MAC, uplinkMac));
    const ra = netdev(a);
    expect(ra.retval).toBe(TC_ACT_REDIRECT);
    expect(ra.data).toEqual(
      translated(a, { src: NODE_A, dst: CLIENT, sport: NODE_PORT, dport: 33333, ttl: 62, eth: toward(CLIENT_MAC) }),
    );
    expect(parsePacket(ra.data).udp!.checksumOk).toBe(true);

    const noSum = buildPacket(udp(CLIENT, NODE_A, 33333, NODE_PORT));
    noSum.writeUInt16BE(0, 14 + 20 + 6);
    const rz = netdev(noSum);
    expect(rz.data.readUInt16BE(14 + 20 + 6)).toBe(0);
    expect(parsePacket(rz.data)).toMatchObject({
      ip: { src: NODE_A, dst: REMOTE2.addr, checksumOk: true },
      udp: { sport: port, dport: 8080 },
    });
  });

  it('gives concurrent clients distinct SNAT ports, all in the range', () => {
    addFrontend({ backends: [REMOTE1] });
    const ports = new Set<number>();
    const n = 200;
    for (let i = 0; i < n; i++) {
      const client = i % 2 ? CLIENT : CLIENT2;
      const r = netdev(tcp(client, NODE_A, 40000 + (i >> 1), NODE_PORT));
      expect(r.retval).toBe(TC_ACT_REDIRECT);
      const port = snatPortOf(r.data);
      expect(isSnatPort(port)).toBe(true);
      ports.add(port);
    }
    expect(ports.size).toBe(n);
    // Two clients using the same source port are two flows too.
    const a = snatPortOf(netdev(tcp(CLIENT, NODE_A, 50000, NODE_PORT)).data);
    const b = snatPortOf(netdev(tcp(CLIENT2, NODE_A, 50000, NODE_PORT)).data);
    expect(a).not.toBe(b);
    expect(m.ctNew.get(ctKey(REMOTE1.addr, NODE_A, 8080, a, IPPROTO_TCP, CT_REPLY))!.nat).toMatchObject({
      daddr: CLIENT,
      dport: 50000,
    });
    expect(m.ctNew.get(ctKey(REMOTE1.addr, NODE_A, 8080, b, IPPROTO_TCP, CT_REPLY))!.nat).toMatchObject({
      daddr: CLIENT2,
      dport: 50000,
    });
  });

  it('drops and counts a new flow when every SNAT port toward the backend is taken; reclaims ports of flows long over', () => {
    addFrontend({ backends: [REMOTE1], svcId: 8 });
    const fill = (lastSeenNs: bigint) => {
      const entries: Array<[CtKey, CtEntry]> = [];
      for (const [lo, hi] of SNAT_PORT_RANGES) {
        for (let port = lo; port <= hi; port++) {
          entries.push([
            ctKey(REMOTE1.addr, NODE_A, 8080, port, IPPROTO_TCP, CT_REPLY),
            {
              lastSeenNs,
              nat: { saddr: NODE_A, daddr: '192.0.2.200', sport: NODE_PORT, dport: port },
              backendId: REMOTE1.id,
              svcId: 8,
              flags: CT_NODEPORT | CT_CLOSING,
            },
          ]);
        }
      }
      m.conntrack.setMany(entries);
    };
    fill(monotonicNs());
    const r = netdev(tcp(CLIENT, NODE_A, 40000, NODE_PORT));
    expect(r.retval).toBe(TC_ACT_SHOT);
    expect(counter(CNT_SNAT_EXHAUSTED)).toBe(1n);
    expect(m.conntrack.get(ctKey(CLIENT, NODE_A, 40000, NODE_PORT, IPPROTO_TCP, CT_FORWARD))).toBeUndefined();
    expect(m.ctNew.entries()).toHaveLength(0);

    // Closed 30 s ago: past the conntrack lifetime, but the backend may still be in TIME_WAIT.
    const closed = ago(30n * NS_PER_S);
    if (closed === undefined) return skipStep('ports closed 30 s ago stay held', 30n * NS_PER_S);
    fill(closed);
    expect(netdev(tcp(CLIENT, NODE_A, 40001, NODE_PORT)).retval).toBe(TC_ACT_SHOT);
    expect(counter(CNT_SNAT_EXHAUSTED)).toBe(2n);

    // Closed longer ago than TIME_WAIT: one port is taken over.
    const longAgo = ago(BigInt(SNAT_TCP_REUSE_S + 5) * NS_PER_S);
    if (longAgo === undefined)
      return skipStep('ports closed past TIME_WAIT are reclaimed', BigInt(SNAT_TCP_REUSE_S + 5) * NS_PER_S);
    fill(longAgo);
    const r2 = netdev(tcp(CLIENT, NODE_A, 40002, NODE_PORT));
    expect(r2.retval).toBe(TC_ACT_REDIRECT);
    const port = snatPortOf(r2.data);
    // The reclaimed flow's entry left conntrack; the new flow's waits in ct_new for its answer.
    expect(m.conntrack.get(ctKey(REMOTE1.addr, NODE_A, 8080, port, IPPROTO_TCP, CT_REPLY))).toBeUndefined();
    expect(m.ctNew.get(ctKey(REMOTE1.addr, NODE_A, 8080, port, IPPROTO_TCP, CT_REPLY))).toMatchObject({
      nat: { daddr: CLIENT, dport: 40002 },
      flags: CT_NODEPORT,
    });
    expect(counter(CNT_SNAT_EXHAUSTED)).toBe(2n);
  });

  it('never reclaims the port of a one-way UDP flow that is still sending', () => {
    addFrontend({ proto: IPPROTO_UDP, backends: [REMOTE1] });
    const q = udp(CLIENT, NODE_A, 33333, NODE_PORT);
    const port = snatPortOf(netdev(q).data);
    const replyKey = ctKey(REMOTE1.addr, NODE_A, 8080, port, IPPROTO_UDP, CT_REPLY);
    // The backend never answers: its entry goes stale (past the 60 s UDP lifetime) while the
    // client keeps sending.
    const stale = ago(UDP_STALE);
    if (stale === undefined) return skipStep('a stale reply entry of a live UDP flow', UDP_STALE);
    m.ctNew.set(replyKey, { ...m.ctNew.get(replyKey)!, lastSeenNs: stale });
    netdev(q);
    // Every other port is taken: a new client can only get a port by reclaiming, and must not get this one.
    const entries: Array<[CtKey, CtEntry]> = [];
    for (const [lo, hi] of SNAT_PORT_RANGES) {
      for (let p = lo; p <= hi; p++) {
        if (p === port) continue;
        entries.push([
          ctKey(REMOTE1.addr, NODE_A, 8080, p, IPPROTO_UDP, CT_REPLY),
          {
            lastSeenNs: monotonicNs(),
            nat: { saddr: NODE_A, daddr: '192.0.2.200', sport: NODE_PORT, dport: p },
            backendId: REMOTE1.id,
            svcId: 1,
            flags: CT_NODEPORT,
          },
        ]);
      }
    }
    m.conntrack.setMany(entries);
    expect(netdev(udp(CLIENT2, NODE_A, 44444, NODE_PORT)).retval).toBe(TC_ACT_SHOT);
    expect(m.ctNew.get(replyKey)!.nat).toMatchObject({ daddr: CLIENT, dport: 33333 });
    expect(snatPortOf(netdev(q).data)).toBe(port);
  });

  it("SNATs an external IP's remote flows to the configured node address, and keeps affinity on the real client", () => {
    table.snat(NODE_A);
    addFrontend({ addr: EXTERNAL_IP, port: 80, backends: [REMOTE1, REMOTE2], affinityTimeout: 600, setId: 4 });
    const syn = tcp(CLIENT, EXTERNAL_IP, 40000, 80);
    const r = netdev(syn);
    expect(r.retval).toBe(TC_ACT_REDIRECT);
    const p = parsePacket(r.data);
    expect(p.ip).toMatchObject({ src: NODE_A, checksumOk: true });
    const first = p.ip.dst;
    for (let i = 1; i <= 10; i++)
      expect(parsePacket(netdev(tcp(CLIENT, EXTERNAL_IP, 40000 + i, 80)).data).ip.dst).toBe(first);
    expect(m.affinity.get({ setId: 4, clientAddr: CLIENT })).toBeDefined();
    expect(m.affinity.get({ setId: 4, clientAddr: NODE_A })).toBeUndefined();

    const port = p.tcp!.sport;
    const synAck = tcp(first, NODE_A, 8080, port, 'SA', eth(NODE_B_MAC, uplinkMac));
    const ra = netdev(synAck);
    expect(ra.data).toEqual(
      translated(synAck, { src: EXTERNAL_IP, dst: CLIENT, sport: 80, dport: 40000, ttl: 62, eth: toward(CLIENT_MAC) }),
    );
  });

  it('externalTrafficPolicy Local: a local endpoint is used with the client kept; none means a silent drop', () => {
    addFrontend({ backends: [LOCAL1], flags: FE_NODEPORT | FE_LOCAL_ONLY, svcId: 3 });
    const syn = tcp(CLIENT, NODE_A, 40000, NODE_PORT);
    const r = netdev(syn);
    expect(r.retval).toBe(TC_ACT_OK);
    expect(r.data).toEqual(translated(syn, { dst: LOCAL1.addr, dport: 8080 }));

    addFrontend({ port: NODE_PORT + 1, backends: [], flags: FE_NODEPORT | FE_LOCAL_ONLY, svcId: 4, setId: 2 });
    const r2 = netdev(tcp(CLIENT, NODE_A, 40000, NODE_PORT + 1));
    expect(r2.retval).toBe(TC_ACT_SHOT);
    expect(statsOf(4).noBackend).toBe(1n);
    expect(m.conntrack.get(ctKey(CLIENT, NODE_A, 40000, NODE_PORT + 1, IPPROTO_TCP, CT_FORWARD))).toBeUndefined();
  });

  it('refuses a NodePort without endpoints from outside with ICMP port unreachable, back out of the uplink', () => {
    addFrontend({ backends: [], svcId: 9 });
    const r = netdev(tcp(CLIENT, NODE_A, 40000, NODE_PORT, 'S', eth(CLIENT_MAC, uplinkMac)));
    expect(r.retval).toBe(TC_ACT_REDIRECT);
    expect(parsePacket(r.data)).toMatchObject({
      eth: { src: uplinkMac, dst: CLIENT_MAC },
      ip: { src: NODE_A, dst: CLIENT, proto: 1, checksumOk: true },
      icmp: { type: 3, code: 3, checksumOk: true, inner: { src: CLIENT, dst: NODE_A, sport: 40000, dport: NODE_PORT } },
    });
    expect(statsOf(9).noBackend).toBe(1n);
  });

  it('loadBalancerSourceRanges: a client inside a range is served, one outside is dropped and counted', () => {
    addFrontend({
      addr: LB_IP,
      port: 80,
      backends: [LOCAL1],
      flags: FE_NODEPORT | FE_SOURCE_RANGES,
      svcId: 11,
      sourceRanges: ['10.250.0.0/24'],
    });
    // Another Service, whose range admits the outsider: it must not count for svc 11.
    addFrontend({
      addr: '10.99.0.3',
      port: 80,
      backends: [LOCAL1],
      flags: FE_NODEPORT | FE_SOURCE_RANGES,
      svcId: 12,
      setId: 2,
      sourceRanges: [`${OUTSIDER}/32`],
    });
    expect(m.sourceRanges.entries().map(([k]) => k)).toHaveLength(2);

    const ok = tcp(CLIENT, LB_IP, 40000, 80);
    const r = netdev(ok);
    expect(r.retval).toBe(TC_ACT_OK);
    expect(r.data).toEqual(translated(ok, { dst: LOCAL1.addr, dport: 8080 }));

    const r2 = netdev(tcp(OUTSIDER, LB_IP, 40000, 80));
    expect(r2.retval).toBe(TC_ACT_SHOT);
    expect(counter(CNT_SOURCE_DENIED)).toBe(1n);
    expect(m.conntrack.get(ctKey(OUTSIDER, LB_IP, 40000, 80, IPPROTO_TCP, CT_FORWARD))).toBeUndefined();
    expect(statsOf(11)).toMatchObject({ newFlows: 1n, noBackend: 0n });
  });

  it("passes untouched: a nodePort on an address that is not this node's, and the node's own ports", () => {
    addFrontend({ backends: [REMOTE1] });
    addFrontend({ addr: VIP, port: 80, scope: SCOPE_INTERNAL, flags: 0, backends: [REMOTE1], setId: 2 });
    const frames = [
      buildPacket(tcp(CLIENT, NOT_A_NODE, 40000, NODE_PORT)),
      buildPacket(tcp(CLIENT, NODE_A, 40000, 22)),
      buildPacket(tcp(CLIENT, NODE_A, 40000, 10256)),
      buildPacket(udp(CLIENT, NODE_A, 40000, NODE_PORT)),
      // A ClusterIP is only a frontend from inside: from outside it is just an address.
      buildPacket(tcp(CLIENT, VIP, 40000, 80)),
      // Node B's pod talking to ours, not through a Service here.
      buildPacket(tcp(REMOTE1.addr, POD_A, 40000, 80)),
      // Not a SYN, no flow: not ours to start.
      buildPacket(tcp(CLIENT, NODE_A, 40001, NODE_PORT, 'A')),
    ];
    for (const f of frames) {
      const r = netdev(f);
      expect(r.retval).toBe(TC_ACT_OK);
      expect(r.data).toEqual(f);
    }
    expect(m.conntrack.entries()).toHaveLength(0);
    expect(m.ctNew.entries()).toHaveLength(0);
    expect(counter(CNT_FIB_PASSED)).toBe(0n);
  });

  it('translates, on the uplink, the reply of a pod → ClusterIP → pod-on-another-node flow', () => {
    addFrontend({ addr: VIP, port: 80, scope: SCOPE_INTERNAL, flags: 0, backends: [REMOTE1], svcId: 7 });
    const syn = tcp(POD_A, VIP, 45000, 80, 'S', eth(POD_MAC, '02:00:00:00:00:02'));
    const r = pod(syn);
    expect(r.retval).toBe(TC_ACT_OK);
    expect(r.data).toEqual(translated(syn, { dst: REMOTE1.addr, dport: 8080 }));

    // The backend answers the pod directly; node B routes it here over the underlay.
    const synAck = tcp(REMOTE1.addr, POD_A, 8080, 45000, 'SA', eth(NODE_B_MAC, uplinkMac));
    const ra = netdev(synAck);
    expect(ra.retval).toBe(TC_ACT_OK);
    expect(parsePacket(ra.data)).toMatchObject({
      ip: { src: VIP, dst: POD_A, checksumOk: true },
      tcp: { sport: 80, dport: 45000, checksumOk: true },
    });
    expect(ra.data).toEqual(translated(synAck, { src: VIP, sport: 80 }));
  });

  it('a pod reaching a NodePort of its own node: DNAT to a remote backend without SNAT, the reply routed back in BPF', () => {
    addFrontend({ scope: SCOPE_INTERNAL, backends: [REMOTE1] });
    const syn = tcp(POD_A, NODE_A, 45000, NODE_PORT, 'S', eth(POD_MAC, '02:00:00:00:00:02'));
    const r = pod(syn);
    expect(r.retval).toBe(TC_ACT_OK);
    expect(r.data).toEqual(translated(syn, { dst: REMOTE1.addr, dport: 8080 }));

    // The backend answers the pod (its address routes back here); the source becomes the node's.
    const synAck = tcp(REMOTE1.addr, POD_A, 8080, 45000, 'SA', eth(NODE_B_MAC, uplinkMac));
    const ra = netdev(synAck);
    expect(ra.retval).toBe(TC_ACT_REDIRECT);
    expect(ra.data).toEqual(
      translated(synAck, { src: NODE_A, sport: NODE_PORT, ttl: 62, eth: { src: podHostMac, dst: POD_MAC } }),
    );
  });

  it('hands a reply BPF cannot route to the stack, and counts it', () => {
    addFrontend({ backends: [LOCAL1] });
    const stranger = '198.51.100.9'; // no route to it in the fixture namespace
    expect(netdev(tcp(stranger, NODE_A, 40000, NODE_PORT)).retval).toBe(TC_ACT_OK);
    const synAck = tcp(LOCAL1.addr, stranger, 8080, 40000, 'SA', eth(POD_MAC, '02:00:00:00:00:02'));
    const ra = pod(synAck);
    expect(ra.retval).toBe(TC_ACT_OK);
    expect(ra.data).toEqual(translated(synAck, { src: NODE_A, sport: NODE_PORT }));
    expect(counter(CNT_FIB_PASSED)).toBe(1n);
  });

  it('reports the NodePort path cost (remote backend: SNAT and routing in BPF)', () => {
    addFrontend({ backends: [REMOTE1, REMOTE2] });
    // Single runs: with `repeat` the kernel reruns the program on the already rewritten packet.
    const n = 2000;
    let newFlow = 0,
      hit = 0;
    inNetns(ns, () => {
      for (let i = 0; i < n; i++) {
        const r = testRun(fromNetdev, buildPacket(tcp(CLIENT, NODE_A, 10000 + i, NODE_PORT)));
        expect(r.retval).toBe(TC_ACT_REDIRECT);
        newFlow += r.durationNs;
      }
      const ack = buildPacket(tcp(CLIENT, NODE_A, 10000, NODE_PORT, 'A'));
      for (let i = 0; i < n; i++) hit += testRun(fromNetdev, ack).durationNs;
    });
    console.log(
      `from_netdev NodePort → remote backend: ${Math.round(newFlow / n)} ns for a new flow (SYN), ` +
        `${Math.round(hit / n)} ns for a conntrack hit (mean of ${n} single runs each)`,
    );
  });
});
