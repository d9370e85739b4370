// The IPv6 twin of datapath-hostnet.test.ts: a Service whose endpoint is this node's own IPv6
// address (a host-network pod, the API server), reached from a pod on the node. from_pod (from_pod6)
// translates the forward packet; the node's socket answers through the stack and out the pod's
// veth, where to_pod (to_pod6, by tail call) must give the answer the Service address back.
// Byte-exact through PROG_TEST_RUN: every expected frame is built from scratch (src/net/packet6.ts),
// so a wrong checksum or a stray byte fails the comparison.
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { CNT_ICMP_XLATED, CT_REPLY, CT_SEEN_REPLY, IPPROTO_TCP, IPPROTO_UDP } from '../../src/abi/index.js';
import { monotonicNs } from '../../src/bpf/clock.js';
import { buildPacket6, type Packet6Spec } from '../../src/net/packet6.js';
import { NODE6_A, NODE6_B, openFixture6, rewritten, type Fixture6 } from '../lib/dp6.js';
import { describeRoot } from '../lib/root.js';

const TC_ACT_OK = 0;
const VIP = 'fd00:96::1',
  POD = 'fd00:244:1::11';
/** The API server on this node's IPv6 address, as the `kubernetes` Service's endpoint. */
const HOST_EP = { id: 701, addr: NODE6_A, port: 6443, local: true };
const POD_MAC = '02:00:00:00:0a:01',
  GW_MAC = '02:00:00:00:0a:02';
const fromPod = { src: POD_MAC, dst: GW_MAC },
  toPod = { src: GW_MAC, dst: POD_MAC };
type L2 = typeof fromPod;

function tcp(src: string, dst: string, sport: number, dport: number, flags: string, eth: L2, payload?: Buffer) {
  const ack = flags.includes('A') ? 77 : 0;
  return { eth, ip: { src, dst }, tcp: { sport, dport, flags, seq: 1000, ack }, payload } satisfies Packet6Spec;
}

function udp(src: string, dst: string, sport: number, dport: number, eth: L2, payload: Buffer): Packet6Spec {
  return { eth, ip: { src, dst }, udp: { sport, dport }, payload };
}

const hex = (b: Buffer) => b.toString('hex');

describeRoot('IPv6 host-network endpoints on the tc path: to_pod (PROG_TEST_RUN, byte-exact)', () => {
  let f: Fixture6;
  beforeAll(() => {
    f = openFixture6();
  });
  afterAll(() => f?.close());
  beforeEach(() => f.clear());

  const kubernetesSvc = (proto = IPPROTO_TCP) => f.addFrontend({ addr: VIP, port: 443, proto, backends: [HOST_EP] });
  const replyKey = (sport: number, dport: number, proto = IPPROTO_TCP) => ({
    saddr: NODE6_A,
    daddr: POD,
    sport,
    dport,
    proto,
    dir: CT_REPLY,
  });

  it('a pod → ClusterIP → this node’s address: the node’s answers reach the pod from the ClusterIP', () => {
    kubernetesSvc();
    const syn = tcp(POD, VIP, 40000, 443, 'S', fromPod);
    const fwd = f.pod(syn);
    expect(fwd.retval).toBe(TC_ACT_OK);
    expect(hex(fwd.data)).toBe(hex(rewritten(syn, { dst: NODE6_A, dport: 6443 })));

    // The node's SYN-ACK leaves through the stack to the pod veth: its first answer, in ct_new6.
    const synAck = tcp(NODE6_A, POD, 6443, 40000, 'SA', toPod);
    const back = f.toPod(synAck);
    expect(back.retval).toBe(TC_ACT_OK);
    expect(hex(back.data)).toBe(hex(rewritten(synAck, { src: VIP, sport: 443 })));
    expect(f.v6.conntrack6.get(replyKey(6443, 40000))?.flags).toBe(CT_SEEN_REPLY);
    expect(f.v6.ctNew6.entries()).toHaveLength(0);

    // Established both ways, as a replied flow in conntrack6.
    const ack = tcp(POD, VIP, 40000, 443, 'A', fromPod, Buffer.from('GET / HTTP/1.1\r\n\r\n'));
    expect(hex(f.pod(ack).data)).toBe(hex(rewritten(ack, { dst: NODE6_A, dport: 6443 })));
    const data = tcp(NODE6_A, POD, 6443, 40000, 'PA', toPod, Buffer.from('HTTP/1.1 200 OK\r\n\r\n'));
    const out = f.toPod(data);
    expect(out.retval).toBe(TC_ACT_OK);
    expect(hex(out.data)).toBe(hex(rewritten(data, { src: VIP, sport: 443 })));
  });

  it('UDP: the answer is translated, and the node’s ICMPv6 port unreachable names the ClusterIP', () => {
    kubernetesSvc(IPPROTO_UDP);
    const q = udp(POD, VIP, 33333, 443, fromPod, Buffer.from('ping'));
    const sent = f.pod(q);
    expect(hex(sent.data)).toBe(hex(rewritten(q, { dst: NODE6_A, dport: 6443 })));
    const a = udp(NODE6_A, POD, 6443, 33333, toPod, Buffer.from('pong'));
    const back = f.toPod(a);
    expect(back.retval).toBe(TC_ACT_OK);
    expect(hex(back.data)).toBe(hex(rewritten(a, { src: VIP, sport: 443 })));
    expect(f.v6.conntrack6.get(replyKey(6443, 33333, IPPROTO_UDP))?.flags).toBe(CT_SEEN_REPLY);

    // The node's port closed meanwhile: its error quotes the datagram it got, {pod → node}; the
    // pod gets it from the ClusterIP, quoting its own datagram (UDP checksum included).
    const unreach = (src: string, body: Buffer): Packet6Spec => ({
      eth: toPod,
      ip: { src, dst: POD },
      icmp6: { type: 1, code: 4, body },
    });
    const err = f.toPod(unreach(NODE6_A, sent.data.subarray(14)));
    expect(err.retval).toBe(TC_ACT_OK);
    expect(hex(err.data)).toBe(hex(buildPacket6(unreach(VIP, sent.input.subarray(14)))));
    expect(f.counter(CNT_ICMP_XLATED)).toBe(1n);
  });

  it('passes untouched what is no reply of a translated flow, and never starts a flow', () => {
    // A reply entry no flow of the data path wrote: its source was never named a reply source
    // (bpf/ct.h), so to_pod leaves before the lookup.
    const none = { saddr: '::', daddr: '::', sport: 0, dport: 0 };
    f.v6.conntrack6.set(
      { saddr: NODE6_B, daddr: POD, sport: 6443, dport: 40010, proto: IPPROTO_TCP, dir: CT_REPLY },
      {
        lastSeenNs: monotonicNs(),
        backendId: 1,
        svcId: 1,
        flags: CT_SEEN_REPLY,
        nat: { ...none, saddr: VIP, sport: 443 },
      },
    );
    kubernetesSvc();
    // That stray reply; the node's own connection to the pod; an answer on a port no flow has; a
    // reply already translated by from_pod (source = the ClusterIP); a SYN to a Service address
    // coming from the node (egress is no client hook).
    const frames = [
      tcp(NODE6_B, POD, 6443, 40010, 'A', toPod),
      tcp(NODE6_A, POD, 22, 50000, 'A', toPod),
      tcp(NODE6_A, POD, 6443, 40001, 'SA', toPod),
      tcp(VIP, POD, 443, 40000, 'A', toPod),
      tcp(NODE6_A, VIP, 41000, 443, 'S', toPod),
    ];
    for (const frame of frames) {
      const r = f.toPod(frame);
      expect(r.retval).toBe(TC_ACT_OK);
      expect(hex(r.data)).toBe(hex(r.input));
    }
    expect(f.v6.ctNew6.entries()).toHaveLength(0);
    expect(f.v6.conntrack6.entries()).toHaveLength(1);
    // The node's own address became a reply source with a flow through the ClusterIP: its
    // answer is translated, the stray reply's still not.
    f.pod(tcp(POD, VIP, 40002, 443, 'S', fromPod));
    const synAck = tcp(NODE6_A, POD, 6443, 40002, 'SA', toPod);
    expect(hex(f.toPod(synAck).data)).toBe(hex(rewritten(synAck, { src: VIP, sport: 443 })));
  });

  it('looks only at what the node itself sends: a packet that came in on a device passes unread', () => {
    kubernetesSvc();
    f.pod(tcp(POD, VIP, 40003, 443, 'S', fromPod));
    const synAck = tcp(NODE6_A, POD, 6443, 40003, 'SA', toPod);
    // The same answer, as if forwarded from another device (ifindex 7): left alone, the flow
    // still waiting in ct_new6 (its two keys) for the node's own answer.
    const forwarded = f.toPod(synAck, { ingressIfindex: 7 });
    expect(forwarded.retval).toBe(TC_ACT_OK);
    expect(hex(forwarded.data)).toBe(hex(forwarded.input));
    expect(f.v6.ctNew6.entries()).toHaveLength(2);
    // From the node's own socket (no ingress device): translated, the flow promoted.
    expect(hex(f.toPod(synAck).data)).toBe(hex(rewritten(synAck, { src: VIP, sport: 443 })));
    expect(f.v6.ctNew6.entries()).toHaveLength(0);
  });
});
