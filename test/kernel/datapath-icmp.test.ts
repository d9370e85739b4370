// ICMP errors about translated flows, translated back (issue 13, item 4), and frag-needed for
// don't-fragment packets too big for a BPF-routed path. Byte-exact where the frame is ours to
// predict: the quote must read as the packet the flow's sender sent, checksums all valid.
import { afterEach, expect, it } from 'vitest';
import { CNT_FRAG_NEEDED, CNT_ICMP_XLATED, IPPROTO_TCP, IPPROTO_UDP, SCOPE_INTERNAL } from '../../src/abi/index.js';
import { buildPacket, parsePacket } from '../lib/packet.js';
import { describeRoot } from '../lib/root.js';
import {
  CLIENT,
  CLIENT_MAC,
  GW_MAC,
  LOCAL1,
  NODE_A,
  NODE_B_MAC,
  NODE_PORT,
  POD_MAC,
  REMOTE1,
  ROUTER_MAC,
  TC_ACT_OK,
  TC_ACT_REDIRECT,
  VIP,
  eth,
  icmpError,
  useFixture,
  tcp,
  translated,
  udp,
  type Fixture,
} from '../lib/dp-fixture.js';

const C = '10.244.1.50';
const ROUTER = '10.250.0.1';
let f: Fixture;

describeRoot('ICMP errors and frag-needed (BPF_PROG_TEST_RUN)', () => {
  useFixture((x) => (f = x));
  afterEach(() => {
    f.ip(['link', 'set', f.uplink, 'mtu', '1500']);
  });

  it("ClusterIP: a backend's port unreachable reaches the client from the Service, quoting what it sent", () => {
    f.addFrontend({ addr: VIP, port: 53, proto: IPPROTO_UDP, scope: SCOPE_INTERNAL, flags: 0, backends: [LOCAL1] });
    const q = udp(C, VIP, 33333, 53, Buffer.from('query'), eth(POD_MAC, GW_MAC));
    const sent = f.pod(q);
    expect(parsePacket(sent.data).ip.dst).toBe(LOCAL1.addr);

    const err = icmpError(LOCAL1.addr, C, 3, 3, sent.data, eth(POD_MAC, GW_MAC));
    const r = f.pod(err);
    expect(r.retval).toBe(TC_ACT_OK);
    const want = buildPacket(icmpError(VIP, C, 3, 3, sent.input, eth(POD_MAC, GW_MAC)));
    expect(r.data).toEqual(want);
    expect(parsePacket(r.data)).toMatchObject({
      ip: { src: VIP, dst: C, checksumOk: true },
      icmp: { type: 3, code: 3, checksumOk: true, inner: { src: C, dst: VIP, sport: 33333, dport: 53 } },
    });
    expect(f.counter(CNT_ICMP_XLATED)).toBe(1n);
  });

  it("NodePort, remote backend: a router's time exceeded goes to the client, the router still its source", () => {
    f.addFrontend({ backends: [REMOTE1] });
    const syn = tcp(CLIENT, NODE_A, 40000, NODE_PORT);
    const out = f.netdev(syn);
    const port = parsePacket(out.data).tcp!.sport;

    const r = f.netdev(icmpError(ROUTER, NODE_A, 11, 0, out.data, eth(NODE_B_MAC, f.uplinkMac)));
    expect(r.retval).toBe(TC_ACT_OK);
    // The quote as the client sent it (the TTL is what the router saw).
    const want = buildPacket(
      icmpError(ROUTER, CLIENT, 11, 0, translated(syn, { ttl: 62 }), eth(NODE_B_MAC, f.uplinkMac)),
    );
    expect(r.data).toEqual(want);
    expect(parsePacket(r.data).icmp).toMatchObject({
      checksumOk: true,
      inner: { src: CLIENT, dst: NODE_A, sport: 40000, dport: NODE_PORT },
    });
    expect(port).not.toBe(40000);
  });

  it("NodePort, remote backend: the backend's frag-needed is routed to the client from the node", () => {
    f.addFrontend({ proto: IPPROTO_UDP, backends: [REMOTE1] });
    const q = udp(CLIENT, NODE_A, 33333, NODE_PORT, Buffer.alloc(100, 1));
    const out = f.netdev(q);

    const r = f.netdev(icmpError(REMOTE1.addr, NODE_A, 3, 4, out.data, eth(NODE_B_MAC, f.uplinkMac), 1400));
    expect(r.retval).toBe(TC_ACT_REDIRECT);
    const want = icmpError(NODE_A, CLIENT, 3, 4, translated(q, { ttl: 62 }), eth(f.uplinkMac, CLIENT_MAC), 1400);
    expect(r.data).toEqual(buildPacket({ ...want, ip: { ...want.ip, ttl: 63 } }));
    expect(parsePacket(r.data).icmp).toMatchObject({
      checksumOk: true,
      inner: { src: CLIENT, dst: NODE_A, sport: 33333, dport: NODE_PORT },
    });
  });

  it('leaves ICMP about untranslated flows, and other ICMP, untouched', () => {
    const about = buildPacket(udp(C, '10.244.1.99', 33333, 53, Buffer.from('x'), eth(POD_MAC, GW_MAC)));
    for (const spec of [
      icmpError('10.244.1.99', C, 3, 3, about, eth(POD_MAC, GW_MAC)),
      { eth: eth(POD_MAC, GW_MAC), ip: { src: C, dst: VIP }, icmp: { type: 8, code: 0, rest: 0x10001 } },
    ]) {
      const r = f.pod(spec);
      expect(r.retval).toBe(TC_ACT_OK);
      expect(r.data).toEqual(r.input);
    }
    expect(f.counter(CNT_ICMP_XLATED)).toBe(0n);
  });

  it("answers a don't-fragment packet too big for the routed path with frag-needed, quoting it as sent", () => {
    f.addFrontend({ backends: [REMOTE1] });
    const syn = f.netdev(tcp(CLIENT, NODE_A, 40000, NODE_PORT));
    expect(syn.retval).toBe(TC_ACT_REDIRECT);
    // The handshake's answer: a TCP client sends data only after it (and the flow moves to conntrack).
    f.netdev(tcp(REMOTE1.addr, NODE_A, 8080, parsePacket(syn.data).tcp!.sport, 'SA', eth(NODE_B_MAC, f.uplinkMac)));
    f.ip(['link', 'set', f.uplink, 'mtu', '1280']);
    const big = tcp(CLIENT, NODE_A, 40000, NODE_PORT, 'PA', undefined, Buffer.alloc(1400, 2));
    const r = f.netdev(big);

    expect(r.retval).toBe(TC_ACT_REDIRECT);
    const p = parsePacket(r.data);
    expect(p.eth).toMatchObject({ src: GW_MAC, dst: ROUTER_MAC });
    expect(p.ip).toMatchObject({ src: NODE_A, dst: CLIENT, proto: 1, checksumOk: true, totalLength: 20 + 8 + 40 });
    expect(p.icmp).toMatchObject({
      type: 3,
      code: 4,
      checksumOk: true,
      inner: { src: CLIENT, dst: NODE_A, proto: IPPROTO_TCP, sport: 40000, dport: NODE_PORT },
    });
    expect(r.data.readUInt16BE(14 + 20 + 6)).toBe(1280);
    expect(p.payload).toEqual(r.input.subarray(14, 14 + 40));
    expect(f.counter(CNT_FRAG_NEEDED)).toBe(1n);

    // Small enough, it goes through as before.
    const small = tcp(CLIENT, NODE_A, 40000, NODE_PORT, 'PA', undefined, Buffer.alloc(1000, 2));
    expect(f.netdev(small).retval).toBe(TC_ACT_REDIRECT);
    expect(parsePacket(f.netdev(small).data).ip.dst).toBe(REMOTE1.addr);
  });
});
