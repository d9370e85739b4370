// The IPv6 pod range in config6 (--cluster-cidr's IPv6 entry), the twin of datapath-podrange: a
// pod's packet to a pod address is looked up only as a reply (no conntrack6 or ct_new6 forward
// lookup, no frontend lookup, no clock read), and not at all when no flow's reply named its
// source. Proof that a lookup is skipped, not just missed: an entry the data path would find is
// planted first, and the same packet is translated without the range. Byte-exact through
// PROG_TEST_RUN, against frames built from scratch (src/net/packet6.ts).
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { CT_FORWARD, CT_REPLY, CT_SEEN_REPLY, IPPROTO_TCP, IPPROTO_UDP, type Ct6Key } from '../../src/abi/index.js';
import { monotonicNs } from '../../src/bpf/clock.js';
import type { Packet6Spec } from '../../src/net/packet6.js';
import { openFixture6, rewritten, type Fixture6, L2, tcp6 } from '../lib/dp6.js';
import { describeRoot } from '../lib/root.js';

const TC_ACT_OK = 0;
const VIP = 'fd00:96::a',
  CLIENT = 'fd00:244:1::11',
  PEER = 'fd00:244:2::12', // another pod, on another node: pod-to-pod traffic
  BE1 = { id: 601, addr: 'fd00:244:1::21', port: 8080, local: true };
/** fd00:244::/32, as compile writes it for --cluster-cidr 10.244.0.0/16,fd00:244::/32. */
const PODS = { podNet: 'fd00:244::', podMask: 'ffff:ffff::' };
const NO_RANGE = { podNet: '::', podMask: '::' };
const udp = (src: string, dst: string, sport: number, dport: number): Packet6Spec => ({
  eth: L2,
  ip: { src, dst },
  udp: { sport, dport },
  payload: Buffer.from('q'),
});

describeRoot('the IPv6 pod range: pod-to-pod packets skip the forward lookups (BPF_PROG_TEST_RUN)', () => {
  let f: Fixture6;
  beforeAll(() => {
    f = openFixture6();
  });
  afterAll(() => f?.close());
  beforeEach(() => f.clear());
  const config6 = (range: typeof PODS) => f.v6.config6.set(0, { snatAddr: '::', hairpinAddr: '::', ...range });
  const untouched = (spec: Packet6Spec) => {
    const r = f.pod(spec);
    expect(r.retval).toBe(TC_ACT_OK);
    expect(r.data.toString('hex')).toBe(r.input.toString('hex'));
  };
  /** A replied flow's forward entry under @key, rewriting the destination to BE1 (planted). */
  const plantForward = (key: Ct6Key) =>
    f.v6.conntrack6.set(key, {
      lastSeenNs: monotonicNs(),
      nat: { saddr: '::', daddr: BE1.addr, sport: 0, dport: BE1.port },
      backendId: BE1.id,
      svcId: 1,
      flags: CT_SEEN_REPLY,
    });

  it('a frontend inside the pod range (one the agent never writes) is not looked up once the range is set', () => {
    f.addFrontend({ addr: 'fd00:244:1::99', port: 80, backends: [BE1] });
    const syn = tcp6(CLIENT, 'fd00:244:1::99', 40000, 80);
    config6(NO_RANGE);
    expect(f.pod(syn).data.toString('hex')).toBe(rewritten(syn, { dst: BE1.addr, dport: BE1.port }).toString('hex'));
    for (const map of [f.v6.conntrack6, f.v6.ctNew6]) map.clear();

    config6(PODS);
    untouched(syn);
    expect(f.v6.ctNew6.entries()).toHaveLength(0);
    expect(f.v6.conntrack6.entries()).toHaveLength(0);
  });

  it('a pod-to-pod packet from no reply source passes on its header alone: a forward entry is not found', () => {
    const data = tcp6(CLIENT, PEER, 40010, 8080, 'A');
    plantForward({ saddr: CLIENT, daddr: PEER, sport: 40010, dport: 8080, proto: IPPROTO_TCP, dir: CT_FORWARD });
    config6(NO_RANGE);
    expect(f.pod(data).data.toString('hex')).toBe(rewritten(data, { dst: BE1.addr, dport: BE1.port }).toString('hex'));
    config6(PODS);
    untouched(data);
  });

  it('from a reply source, a pod-to-pod packet is looked up only as a reply', () => {
    config6(PODS);
    f.addFrontend({ addr: VIP, port: 80, backends: [BE1] });
    f.pod(tcp6(CLIENT, VIP, 40020, 80)); // picks BE1: its address is a reply source now
    // BE1 opening a connection of its own to another pod: a forward entry there is not looked up.
    const out = tcp6(BE1.addr, PEER, 40021, 9090, 'A');
    plantForward({ saddr: BE1.addr, daddr: PEER, sport: 40021, dport: 9090, proto: IPPROTO_TCP, dir: CT_FORWARD });
    untouched(out);
    config6(NO_RANGE);
    expect(f.pod(out).data.toString('hex')).toBe(rewritten(out, { dst: BE1.addr, dport: BE1.port }).toString('hex'));
  });

  it('a backend pod still answers a pod through the ClusterIP: its replies to a pod address are translated', () => {
    config6(PODS);
    f.addFrontend({ addr: VIP, port: 80, backends: [BE1] });
    const to = { dst: BE1.addr, dport: BE1.port };
    const from = { src: VIP, sport: 80 };
    const syn = tcp6(CLIENT, VIP, 40030, 80);
    expect(f.pod(syn).data.toString('hex')).toBe(rewritten(syn, to).toString('hex'));
    // The first answer (ct_new6, promoted), then both directions established (conntrack6).
    const synAck = tcp6(BE1.addr, CLIENT, BE1.port, 40030, 'SA');
    expect(f.pod(synAck).data.toString('hex')).toBe(rewritten(synAck, from).toString('hex'));
    const ack = tcp6(CLIENT, VIP, 40030, 80, 'A');
    expect(f.pod(ack).data.toString('hex')).toBe(rewritten(ack, to).toString('hex'));
    const data = tcp6(BE1.addr, CLIENT, BE1.port, 40030, 'PA');
    expect(f.pod(data).data.toString('hex')).toBe(rewritten(data, from).toString('hex'));
    const rep = { saddr: BE1.addr, daddr: CLIENT, sport: BE1.port, dport: 40030, proto: IPPROTO_TCP, dir: CT_REPLY };
    expect(f.v6.conntrack6.get(rep)?.flags).toBe(CT_SEEN_REPLY);
  });

  it('UDP to a pod address passes untouched and tracks nothing; a UDP answer through the ClusterIP is translated', () => {
    config6(PODS);
    f.addFrontend({ addr: VIP, port: 53, proto: IPPROTO_UDP, backends: [BE1] });
    untouched(udp(CLIENT, PEER, 33000, 53));
    expect(f.v6.ctNew6.entries()).toHaveLength(0);
    const q = udp(CLIENT, VIP, 33001, 53);
    expect(f.pod(q).data.toString('hex')).toBe(rewritten(q, { dst: BE1.addr, dport: BE1.port }).toString('hex'));
    const a = udp(BE1.addr, CLIENT, BE1.port, 33001);
    expect(f.pod(a).data.toString('hex')).toBe(rewritten(a, { src: VIP, sport: 53 }).toString('hex'));
  });
});
