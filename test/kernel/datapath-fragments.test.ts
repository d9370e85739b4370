// Fragments of translated flows (issue 13, item 3): the first fragment's ports are recorded, the
// later fragments borrow them and get the same addresses, both directions, for ClusterIP, NodePort
// to a local and to a remote backend, and hairpin. Fragments of untranslated flows pass untouched.
// Each frame out is compared byte for byte with the translated datagram, fragmented the same way.
import { expect, it } from 'vitest';
import { CT_FORWARD, IPPROTO_UDP, SCOPE_INTERNAL } from '../../src/abi/index.js';
import { buildPacket, parsePacket, type PacketSpec } from '../lib/packet.js';
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
  TC_ACT_OK,
  TC_ACT_REDIRECT,
  VIP,
  ctKey,
  eth,
  fragment,
  useFixture,
  translated,
  udp,
  type Fixture,
} from '../lib/dp-fixture.js';

const HAIRPIN = '169.254.42.1';
const C = '10.244.1.50';
const CHUNK = 1480;
const big = (n: number, seed: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * seed + 7) & 0xff));
let f: Fixture;

/** Runs every fragment of `spec` through `run`; expects `verdict` and the fragments of `expected`. */
function throughFragments(
  run: Fixture['pod'],
  spec: PacketSpec,
  verdict: number,
  expected: (out: Buffer) => Buffer,
): Buffer[] {
  const ins = fragment(buildPacket(spec), CHUNK);
  expect(ins.length).toBeGreaterThan(2);
  const outs = ins.map((frame) => run(frame));
  for (const o of outs) expect(o.retval).toBe(verdict);
  const want = fragment(expected(outs[0].data), CHUNK);
  expect(outs.map((o) => o.data)).toEqual(want);
  for (const o of outs) expect(parsePacket(o.data).ip.checksumOk).toBe(true);
  return outs.map((o) => o.data);
}

describeRoot('fragments of translated flows (BPF_PROG_TEST_RUN)', () => {
  useFixture((x) => (f = x));

  it('ClusterIP: every fragment of a 4,000-byte UDP request and answer is translated', () => {
    f.addFrontend({ addr: VIP, port: 53, proto: IPPROTO_UDP, scope: SCOPE_INTERNAL, flags: 0, backends: [LOCAL1] });
    const q = udp(C, VIP, 33333, 53, big(4000, 3), eth(POD_MAC, GW_MAC), 0x1111);
    throughFragments(f.pod, q, TC_ACT_OK, () => translated(q, { dst: LOCAL1.addr, dport: 8080 }));
    expect(f.m.frags.entries()).toHaveLength(1);
    const a = udp(LOCAL1.addr, C, 8080, 33333, big(4000, 5), eth(POD_MAC, GW_MAC), 0x2222);
    throughFragments(f.pod, a, TC_ACT_OK, () => translated(a, { src: VIP, sport: 53 }));
    // The reassembled answer is a valid datagram: the first fragment's checksum covers it all.
    expect(f.m.frags.entries()).toHaveLength(2);
  });

  it('NodePort to a local backend: DNAT in, routed reply out, every fragment', () => {
    f.addFrontend({ proto: IPPROTO_UDP, backends: [LOCAL1] });
    const q = udp(CLIENT, NODE_A, 33333, NODE_PORT, big(4000, 3), undefined, 0x3333);
    throughFragments(f.netdev, q, TC_ACT_OK, () => translated(q, { dst: LOCAL1.addr, dport: 8080 }));
    const a = udp(LOCAL1.addr, CLIENT, 8080, 33333, big(4000, 5), eth(POD_MAC, GW_MAC), 0x4444);
    throughFragments(f.pod, a, TC_ACT_REDIRECT, () =>
      translated(a, { src: NODE_A, sport: NODE_PORT, ttl: 62, eth: eth(f.uplinkMac, CLIENT_MAC) }),
    );
  });

  it('NodePort to a remote backend: DNAT + SNAT routed out and back, every fragment', () => {
    f.addFrontend({ proto: IPPROTO_UDP, backends: [REMOTE1] });
    const q = udp(CLIENT, NODE_A, 33333, NODE_PORT, big(4000, 3), undefined, 0x5555);
    let port = 0;
    throughFragments(f.netdev, q, TC_ACT_REDIRECT, (first) => {
      port = parsePacket(first).udp!.sport;
      return translated(q, {
        src: NODE_A,
        dst: REMOTE1.addr,
        sport: port,
        dport: 8080,
        ttl: 62,
        eth: eth(f.uplinkMac, NODE_B_MAC),
      });
    });
    expect(f.m.ctNew.get(ctKey(CLIENT, NODE_A, 33333, NODE_PORT, IPPROTO_UDP, CT_FORWARD))!.nat.sport).toBe(port);
    const a = udp(REMOTE1.addr, NODE_A, 8080, port, big(4000, 5), eth(NODE_B_MAC, f.uplinkMac), 0x6666);
    throughFragments(f.netdev, a, TC_ACT_REDIRECT, () =>
      translated(a, {
        src: NODE_A,
        dst: CLIENT,
        sport: NODE_PORT,
        dport: 33333,
        ttl: 62,
        eth: eth(f.uplinkMac, CLIENT_MAC),
      }),
    );
  });

  it('hairpin: the client is its own backend, both directions', () => {
    f.addFrontend({ addr: VIP, port: 53, proto: IPPROTO_UDP, scope: SCOPE_INTERNAL, flags: 0, backends: [LOCAL1] });
    const q = udp(LOCAL1.addr, VIP, 33333, 53, big(4000, 3), eth(POD_MAC, GW_MAC), 0x7777);
    throughFragments(f.pod, q, TC_ACT_OK, () => translated(q, { src: HAIRPIN, dst: LOCAL1.addr, dport: 8080 }));
    const a = udp(LOCAL1.addr, HAIRPIN, 8080, 33333, big(4000, 5), eth(POD_MAC, GW_MAC), 0x8888);
    throughFragments(f.pod, a, TC_ACT_OK, () => translated(a, { src: VIP, dst: LOCAL1.addr, sport: 53 }));
  });

  it('leaves fragments of untranslated flows, and later fragments without their first, untouched', () => {
    f.addFrontend({ addr: VIP, port: 53, proto: IPPROTO_UDP, scope: SCOPE_INTERNAL, flags: 0, backends: [LOCAL1] });
    // Not a Service: nothing recorded, nothing rewritten.
    const other = udp(C, '10.244.1.99', 33333, 53, big(4000, 3), eth(POD_MAC, GW_MAC), 0x9999);
    throughFragments(f.pod, other, TC_ACT_OK, () => buildPacket(other));
    // A Service datagram whose first fragment never came: its later ones pass as they are.
    const q = udp(C, VIP, 33334, 53, big(4000, 3), eth(POD_MAC, GW_MAC), 0xaaaa);
    for (const frame of fragment(buildPacket(q), CHUNK).slice(1)) {
      const r = f.pod(frame);
      expect(r.retval).toBe(TC_ACT_OK);
      expect(r.data).toEqual(frame);
    }
    expect(f.m.frags.entries()).toHaveLength(0);
    expect(f.m.conntrack.entries()).toHaveLength(0);
    expect(f.m.ctNew.entries()).toHaveLength(0);
  });
});
