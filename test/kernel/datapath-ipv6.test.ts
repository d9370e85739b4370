// The IPv6 data path, byte for byte (issue 15): ClusterIP new flow and reply, a destination-options
// header, hairpin through the ULA hairpin source, ICMPv6 port unreachable with its pseudo-header
// checksum, ICMPv6 errors about translated flows translated back (a backend's port unreachable, a
// router's Packet Too Big about a SNATed NodePort flow), a source-range deny, ClientIP affinity, NodePort to a local backend, and NodePort to a
// backend on another node: SNAT with a claimed port, routed in BPF, and the reverse. Every expected frame is built here
// from scratch (src/net/packet6.ts), so a wrong checksum or a stray byte fails the comparison.
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import {
  CNT_ICMP_XLATED,
  CNT_SOURCE_DENIED,
  CT_FORWARD,
  CT_REPLY,
  CT_SEEN_REPLY,
  FE_NODEPORT,
  FE_SOURCE_RANGES,
  HAIRPIN6_ADDR,
  IPPROTO_TCP,
  IPPROTO_UDP,
  isSnatPort,
  SCOPE_EXTERNAL,
} from '../../src/abi/index.js';
import { monotonicNs } from '../../src/bpf/clock.js';
import { writeIpv6 } from '../../src/net/ipv6.js';
import { buildPacket6, EXT_DEST_OPTS, EXT_HOP_BY_HOP, fragment6, type Packet6Spec } from '../../src/net/packet6.js';
import {
  CLIENT_MAC,
  CLIENT6,
  NODE_B_MAC,
  NODE6_A,
  openFixture6,
  rewritten,
  type Fixture6,
  L2,
  tcp6,
} from '../lib/dp6.js';
import { describeRoot } from '../lib/root.js';

const TC_ACT_OK = 0,
  TC_ACT_SHOT = 2,
  TC_ACT_REDIRECT = 7;
const VIP = 'fd00:96::a',
  CLIENT = 'fd00:244:1::11',
  BE1 = { id: 601, addr: 'fd00:244:1::21', port: 8080, local: true },
  BE2 = { id: 602, addr: 'fd00:244:1::22', port: 8080, local: true },
  REMOTE = { id: 603, addr: 'fd00:244:2::31', port: 8080, local: false };

describeRoot('IPv6 data path (PROG_TEST_RUN, byte-exact)', () => {
  let f: Fixture6;
  beforeAll(() => {
    f = openFixture6();
  });
  afterAll(() => f?.close());
  beforeEach(() => f.clear());

  it('ClusterIP: a SYN is DNATed to the backend, the SYN-ACK gets the Service address back', () => {
    f.addFrontend({ addr: VIP, port: 80, backends: [BE1] });
    const syn = tcp6(CLIENT, VIP, 40000, 80);
    const out = f.pod(syn);
    expect(out.retval).toBe(TC_ACT_OK);
    expect(out.data.toString('hex')).toBe(rewritten(syn, { dst: BE1.addr, dport: 8080 }).toString('hex'));
    const fwd = { saddr: CLIENT, daddr: VIP, sport: 40000, dport: 80, proto: IPPROTO_TCP, dir: CT_FORWARD };
    expect(f.v6.ctNew6.get(fwd)?.nat).toEqual({ saddr: '::', daddr: BE1.addr, sport: 0, dport: 8080 });

    const synAck = tcp6(BE1.addr, CLIENT, 8080, 40000, 'SA');
    const back = f.pod(synAck);
    expect(back.retval).toBe(TC_ACT_OK);
    expect(back.data.toString('hex')).toBe(rewritten(synAck, { src: VIP, sport: 80 }).toString('hex'));
    // The first reply moved both entries to conntrack6.
    const rep = { saddr: BE1.addr, daddr: CLIENT, sport: 8080, dport: 40000, proto: IPPROTO_TCP, dir: CT_REPLY };
    expect(f.v6.conntrack6.get(rep)?.flags).toBe(CT_SEEN_REPLY);
    expect(f.v6.conntrack6.get(fwd)?.flags).toBe(CT_SEEN_REPLY);
    expect(f.v6.ctNew6.get(fwd)).toBeUndefined();

    const ack = tcp6(CLIENT, VIP, 40000, 80, 'A');
    expect(f.pod(ack).data.toString('hex')).toBe(rewritten(ack, { dst: BE1.addr, dport: 8080 }).toString('hex'));
  });

  it('a flow planted behind the data path is not looked up until one it opened marks the backend', () => {
    f.addFrontend({ addr: VIP, port: 80, backends: [BE1] });
    const common = { lastSeenNs: monotonicNs(), backendId: BE1.id, svcId: 1, flags: CT_SEEN_REPLY };
    const none = { saddr: '::', daddr: '::', sport: 0, dport: 0 };
    const rep = { saddr: BE1.addr, daddr: CLIENT, sport: 8080, dport: 40020, proto: IPPROTO_TCP, dir: CT_REPLY };
    f.v6.conntrack6.set(rep, { ...common, nat: { ...none, saddr: VIP, sport: 80 } });
    const data = tcp6(BE1.addr, CLIENT, 8080, 40020, 'A');
    // BE1 is no reply source yet (bpf/ct.h): its packet passes untouched.
    const r = f.pod(data);
    expect(r.retval).toBe(TC_ACT_OK);
    expect(r.data.toString('hex')).toBe(r.input.toString('hex'));
    // A SYN through the ClusterIP picks BE1 and marks it: the planted flow's reply is found now.
    f.pod(tcp6(CLIENT, VIP, 40021, 80));
    expect(f.pod(data).data.toString('hex')).toBe(rewritten(data, { src: VIP, sport: 80 }).toString('hex'));
  });

  it("lets a SYN reuse a closing flow's client port towards another Service with the same backend", () => {
    const VIP2 = 'fd00:96::b';
    f.addFrontend({ addr: VIP, port: 80, backends: [BE1] });
    f.addFrontend({ addr: VIP2, port: 80, backends: [BE1] });
    // A whole connection to VIP, closed by FINs both ways: the client's port is in TIME_WAIT.
    f.pod(tcp6(CLIENT, VIP, 40001, 80));
    f.pod(tcp6(BE1.addr, CLIENT, 8080, 40001, 'SA'));
    f.pod(tcp6(CLIENT, VIP, 40001, 80, 'FA'));
    f.pod(tcp6(BE1.addr, CLIENT, 8080, 40001, 'FA'));
    // The client reuses the port towards VIP2: the reply key (BE1:8080 → CLIENT:40001) is the same.
    const syn = tcp6(CLIENT, VIP2, 40001, 80);
    const out = f.pod(syn);
    expect(out.retval).toBe(TC_ACT_OK);
    expect(out.data.toString('hex')).toBe(rewritten(syn, { dst: BE1.addr, dport: 8080 }).toString('hex'));
    const synAck = tcp6(BE1.addr, CLIENT, 8080, 40001, 'SA');
    expect(f.pod(synAck).data.toString('hex')).toBe(rewritten(synAck, { src: VIP2, sport: 80 }).toString('hex'));
  });

  it('finds UDP behind hop-by-hop and destination-options headers and keeps them', () => {
    f.addFrontend({ addr: VIP, port: 53, proto: IPPROTO_UDP, backends: [BE1] });
    const q: Packet6Spec = {
      eth: L2,
      ip: { src: CLIENT, dst: VIP },
      ext: [{ type: EXT_HOP_BY_HOP }, { type: EXT_DEST_OPTS, units: 2 }],
      udp: { sport: 5353, dport: 53 },
      payload: Buffer.from('query'),
    };
    const out = f.pod(q);
    expect(out.retval).toBe(TC_ACT_OK);
    expect(out.data.toString('hex')).toBe(rewritten(q, { dst: BE1.addr, dport: 8080 }).toString('hex'));
    const answer: Packet6Spec = { ...q, ip: { src: BE1.addr, dst: CLIENT }, udp: { sport: 8080, dport: 5353 } };
    const back = f.pod(answer);
    expect(back.data.toString('hex')).toBe(rewritten(answer, { src: VIP, sport: 53 }).toString('hex'));
  });

  it('translates every fragment of a UDP datagram and of its answer, by the first fragment’s ports', () => {
    f.addFrontend({ addr: VIP, port: 53, proto: IPPROTO_UDP, backends: [BE1] });
    const big = Buffer.alloc(300, 0x61);
    const q: Packet6Spec = { eth: L2, ip: { src: CLIENT, dst: VIP }, udp: { sport: 5353, dport: 53 }, payload: big };
    const [first, later] = fragment6(buildPacket6(q), 96, 0x1234);
    const want = fragment6(rewritten(q, { dst: BE1.addr, dport: 8080 }), 96, 0x1234);
    // The first fragment holds the UDP header: ports and checksum (over the whole datagram).
    expect(f.pod(first)).toMatchObject({ retval: TC_ACT_OK, data: want[0] });
    // The later one holds neither: it gets the backend's address, borrowing the ports.
    expect(f.pod(later)).toMatchObject({ retval: TC_ACT_OK, data: want[1] });
    // The backend's answer is as large, fragmented by the backend itself.
    const answer: Packet6Spec = { ...q, ip: { src: BE1.addr, dst: CLIENT }, udp: { sport: 8080, dport: 5353 } };
    const back = fragment6(buildPacket6(answer), 96, 0x99);
    const wantBack = fragment6(rewritten(answer, { src: VIP, sport: 53 }), 96, 0x99);
    expect(f.pod(back[0])).toMatchObject({ retval: TC_ACT_OK, data: wantBack[0] });
    expect(f.pod(back[1])).toMatchObject({ retval: TC_ACT_OK, data: wantBack[1] });
    // A later fragment of another datagram (another id) finds no ports: untouched.
    const stray = fragment6(buildPacket6(q), 96, 0x1235)[1];
    expect(f.pod(stray)).toMatchObject({ retval: TC_ACT_OK, data: stray });
  });

  it('hairpins a pod that is its own backend through the ULA hairpin source, and back', () => {
    f.addFrontend({ addr: VIP, port: 80, backends: [BE1] });
    const syn = tcp6(BE1.addr, VIP, 41000, 80);
    const out = f.pod(syn);
    expect(out.data.toString('hex')).toBe(
      rewritten(syn, { src: HAIRPIN6_ADDR, dst: BE1.addr, dport: 8080 }).toString('hex'),
    );
    const synAck = tcp6(BE1.addr, HAIRPIN6_ADDR, 8080, 41000, 'SA');
    const back = f.pod(synAck);
    expect(back.data.toString('hex')).toBe(rewritten(synAck, { src: VIP, dst: BE1.addr, sport: 80 }).toString('hex'));
  });

  it('answers a Service without endpoints with ICMPv6 port unreachable from the Service address', () => {
    f.addFrontend({ addr: VIP, port: 80, backends: [] });
    const syn = tcp6(CLIENT, VIP, 40001, 80);
    const out = f.pod(syn);
    expect(out.retval).toBe(TC_ACT_REDIRECT);
    const expected = buildPacket6({
      eth: { src: L2.dst, dst: L2.src },
      ip: { src: VIP, dst: CLIENT, hopLimit: 64 },
      icmp6: { type: 1, code: 4, body: out.input.subarray(14) }, // the whole SYN: 40 + 20 bytes
    });
    expect(out.data.toString('hex')).toBe(expected.toString('hex'));
    expect(f.m.stats.get(1)?.reduce((a, s) => a + s.noBackend, 0n)).toBe(1n);
  });

  it("translates a backend's ICMPv6 port unreachable back: from the Service, quoting what the client sent", () => {
    f.addFrontend({ addr: VIP, port: 53, proto: IPPROTO_UDP, backends: [BE1] });
    const q: Packet6Spec = {
      eth: L2,
      ip: { src: CLIENT, dst: VIP },
      udp: { sport: 5353, dport: 53 },
      payload: Buffer.from('query'),
    };
    const sent = f.pod(q);
    expect(sent.data.toString('hex')).toBe(rewritten(q, { dst: BE1.addr, dport: 8080 }).toString('hex'));
    // The backend's port is closed: it quotes the datagram it got, {client → backend}.
    const unreach = (src: string, body: Buffer): Packet6Spec => ({
      eth: { src: L2.dst, dst: L2.src },
      ip: { src, dst: CLIENT },
      icmp6: { type: 1, code: 4, body },
    });
    const out = f.pod(unreach(BE1.addr, sent.data.subarray(14)));
    expect(out.retval).toBe(TC_ACT_OK);
    // The client gets it from the Service address, quoting its own datagram byte for byte
    // (UDP checksum included); the ICMPv6 checksum covers the new pseudo-header.
    const expected = buildPacket6(unreach(VIP, buildPacket6(q).subarray(14)));
    expect(out.data.toString('hex')).toBe(expected.toString('hex'));
    expect(f.counter(CNT_ICMP_XLATED)).toBe(1n);
  });

  it('drops a client outside loadBalancerSourceRanges and translates one inside', () => {
    f.addFrontend({
      addr: VIP,
      port: 80,
      scope: SCOPE_EXTERNAL,
      flags: FE_SOURCE_RANGES,
      backends: [BE1],
      sourceRanges: ['fd00:250::/64'],
    });
    const denied = tcp6('fd00:999::1', VIP, 40002, 80);
    expect(f.netdev(denied).retval).toBe(TC_ACT_SHOT);
    expect(f.counter(CNT_SOURCE_DENIED)).toBe(1n);
    const allowed = tcp6(CLIENT6, VIP, 40002, 80);
    const out = f.netdev(allowed);
    expect(out.retval).toBe(TC_ACT_OK);
    expect(out.data.toString('hex')).toBe(rewritten(allowed, { dst: BE1.addr, dport: 8080 }).toString('hex'));
  });

  it('keeps a client on one backend with ClientIP affinity', () => {
    f.addFrontend({ addr: VIP, port: 80, affinityTimeout: 60, backends: [BE1, BE2] });
    const picked = new Set<string>();
    for (let port = 42000; port < 42020; port++) {
      const out = f.pod(tcp6(CLIENT, VIP, port, 80));
      picked.add(out.data.subarray(14 + 24, 14 + 40).toString('hex'));
    }
    expect(picked.size).toBe(1);
    const aff = f.v6.affinity6.get({ setId: 1, clientAddr: CLIENT });
    expect([BE1.id, BE2.id]).toContain(aff?.backendId);
  });

  it('NodePort: DNATs an outside client to a local backend', () => {
    f.addFrontend({ addr: NODE6_A, port: 30080, scope: SCOPE_EXTERNAL, flags: FE_NODEPORT, backends: [BE1] });
    const syn = tcp6(CLIENT6, NODE6_A, 40003, 30080);
    const out = f.netdev(syn);
    expect(out.retval).toBe(TC_ACT_OK);
    expect(out.data.toString('hex')).toBe(rewritten(syn, { dst: BE1.addr, dport: 8080 }).toString('hex'));
  });

  it('passes what is not Service traffic untouched: other addresses, ICMPv6, a fragment', () => {
    f.addFrontend({ addr: VIP, port: 80, backends: [BE1] });
    const other = buildPacket6(tcp6(CLIENT, 'fd00:96::b', 40005, 80));
    expect(f.pod(other)).toMatchObject({ retval: TC_ACT_OK, data: other });
    const ns = buildPacket6({ eth: L2, ip: { src: CLIENT, dst: VIP }, icmp6: { type: 135, code: 0 } });
    expect(f.pod(ns)).toMatchObject({ retval: TC_ACT_OK, data: ns });
    const frag = buildPacket6({ ...tcp6(CLIENT, VIP, 40006, 80), ext: [{ type: 44 }] });
    expect(f.pod(frag)).toMatchObject({ retval: TC_ACT_OK, data: frag });
    // An error about a flow we never translated: the quote names no conntrack entry.
    const quote = buildPacket6({ ...tcp6(CLIENT, 'fd00:96::b', 40007, 80) }).subarray(14);
    const stray = buildPacket6({
      eth: L2,
      ip: { src: BE1.addr, dst: CLIENT },
      icmp6: { type: 1, code: 4, body: quote },
    });
    expect(f.pod(stray)).toMatchObject({ retval: TC_ACT_OK, data: stray });
    expect(f.counter(CNT_ICMP_XLATED)).toBe(0n);
  });
});

describeRoot('IPv6 NodePort to a backend on another node (PROG_TEST_RUN, routed in BPF)', () => {
  let f: Fixture6;
  beforeAll(() => {
    f = openFixture6();
  });
  afterAll(() => f?.close());
  beforeEach(() => f.clear());

  it('SNATs to the node with a claimed port, routes it to node B; the reply goes back to the client', () => {
    f.addFrontend({ addr: NODE6_A, port: 30080, scope: SCOPE_EXTERNAL, flags: FE_NODEPORT, backends: [REMOTE] });
    const syn: Packet6Spec = { ...tcp6(CLIENT6, NODE6_A, 40010, 30080), eth: { src: CLIENT_MAC, dst: f.uplinkMac } };
    const out = f.netdev(syn);
    expect(out.retval).toBe(TC_ACT_REDIRECT);
    const sport = out.data.readUInt16BE(14 + 40);
    expect(isSnatPort(sport)).toBe(true);
    const routed = buildPacket6({
      ...syn,
      eth: { src: f.uplinkMac, dst: NODE_B_MAC },
      ip: { src: NODE6_A, dst: REMOTE.addr, hopLimit: 63 },
      tcp: { ...syn.tcp!, sport, dport: 8080 },
    });
    expect(out.data.toString('hex')).toBe(routed.toString('hex'));
    // The port is claimed by the reply key {backend → node:port}.
    const rkey = { saddr: REMOTE.addr, daddr: NODE6_A, sport: 8080, dport: sport, proto: IPPROTO_TCP, dir: CT_REPLY };
    expect(f.v6.ctNew6.get(rkey)?.nat).toEqual({ saddr: NODE6_A, daddr: CLIENT6, sport: 30080, dport: 40010 });

    const synAck: Packet6Spec = {
      ...tcp6(REMOTE.addr, NODE6_A, 8080, sport, 'SA'),
      eth: { src: NODE_B_MAC, dst: f.uplinkMac },
    };
    const back = f.netdev(synAck);
    expect(back.retval).toBe(TC_ACT_REDIRECT);
    const expected = buildPacket6({
      ...synAck,
      eth: { src: f.uplinkMac, dst: CLIENT_MAC },
      ip: { src: NODE6_A, dst: CLIENT6, hopLimit: 63 },
      tcp: { ...synAck.tcp!, sport: 30080, dport: 40010 },
    });
    expect(back.data.toString('hex')).toBe(expected.toString('hex'));
  });

  it("translates a router's Packet Too Big about the SNATed flow back to the client", () => {
    const ROUTER = 'fd00:250::99';
    f.addFrontend({ addr: NODE6_A, port: 30080, scope: SCOPE_EXTERNAL, flags: FE_NODEPORT, backends: [REMOTE] });
    const out = f.netdev({ ...tcp6(CLIENT6, NODE6_A, 40012, 30080), eth: { src: CLIENT_MAC, dst: f.uplinkMac } });
    expect(out.retval).toBe(TC_ACT_REDIRECT);
    const routed = out.data.subarray(14); // {node:snat port → remote backend}, as the router got it
    const ptb = (dst: string, body: Buffer): Packet6Spec => ({
      eth: { src: NODE_B_MAC, dst: f.uplinkMac },
      ip: { src: ROUTER, dst },
      icmp6: { type: 2, code: 0, rest: 1280, body },
    });
    const back = f.netdev(ptb(NODE6_A, routed));
    expect(back.retval).toBe(TC_ACT_OK); // to the client through the stack: the router keeps its address
    // The quote as the client sent it: its address and port, the NodePort; the quoted TCP
    // checksum (past the first 8 bytes of TCP) stays as quoted, as for IPv4.
    const quote = Buffer.from(routed);
    writeIpv6(CLIENT6, quote, 8);
    writeIpv6(NODE6_A, quote, 24);
    quote.writeUInt16BE(40012, 40);
    quote.writeUInt16BE(30080, 42);
    expect(back.data.toString('hex')).toBe(buildPacket6(ptb(CLIENT6, quote)).toString('hex'));
    expect(f.counter(CNT_ICMP_XLATED)).toBe(1n);
  });

  it('gives two clients on the same port different SNAT ports to the same backend', () => {
    f.addFrontend({ addr: NODE6_A, port: 30080, scope: SCOPE_EXTERNAL, flags: FE_NODEPORT, backends: [REMOTE] });
    const a = f.netdev({ ...tcp6(CLIENT6, NODE6_A, 40011, 30080), eth: { src: CLIENT_MAC, dst: f.uplinkMac } });
    const b = f.netdev({ ...tcp6('fd00:250::201', NODE6_A, 40011, 30080), eth: { src: CLIENT_MAC, dst: f.uplinkMac } });
    expect(a.retval).toBe(TC_ACT_REDIRECT);
    expect(b.retval).toBe(TC_ACT_REDIRECT);
    expect(a.data.readUInt16BE(54)).not.toBe(b.data.readUInt16BE(54));
  });
});
