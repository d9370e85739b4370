// The reply-key collision (issue 13, item 5): C:p → VIP1 and C:p → VIP2 picking the same backend
// B:port would share the reply key {B:port → C:p}. A live flow keeps its key; the newcomer is
// dropped and counted, and its retry picks again. PROG_TEST_RUN through from_pod (ClusterIP).
import { expect, it } from 'vitest';
import { NS_PER_S, ago, skipStep } from '../lib/clock.js';
import {
  CNT_CT_COLLISION,
  CT_FORWARD,
  CT_REPLY,
  IPPROTO_TCP,
  IPPROTO_UDP,
  SCOPE_INTERNAL,
} from '../../src/abi/index.js';
import { describeRoot } from '../lib/root.js';
import {
  GW_MAC,
  LOCAL1,
  POD_MAC,
  TC_ACT_OK,
  TC_ACT_SHOT,
  VIP,
  ctKey,
  eth,
  useFixture,
  tcp,
  translated,
  udp,
  type Fixture,
} from '../lib/dp-fixture.js';

const VIP2 = '10.96.0.11';
const C = '10.244.1.50';
const fromC = eth(POD_MAC, GW_MAC);
let f: Fixture;

describeRoot('reply-key collisions (BPF_PROG_TEST_RUN)', () => {
  useFixture((x) => (f = x));

  const clusterIp = (addr: string, svcId: number, proto = IPPROTO_TCP, backends = [LOCAL1]) =>
    f.addFrontend({ addr, port: 80, proto, scope: SCOPE_INTERNAL, svcId, setId: svcId, flags: 0, backends });

  it("keeps a live flow's reply key when a second flow from the same client port picks the same backend", () => {
    clusterIp(VIP, 1);
    clusterIp(VIP2, 2);
    expect(f.pod(tcp(C, VIP, 40000, 80, 'S', fromC)).retval).toBe(TC_ACT_OK);
    const synAck = tcp(LOCAL1.addr, C, 8080, 40000, 'SA', fromC);
    expect(f.pod(synAck).data).toEqual(translated(synAck, { src: VIP, sport: 80 }));

    // Same client port, another Service, the same backend: today's code overwrote the reply entry.
    const second = f.pod(tcp(C, VIP2, 40000, 80, 'S', fromC));
    expect(second.retval).toBe(TC_ACT_SHOT);
    expect(f.counter(CNT_CT_COLLISION)).toBe(1n);
    expect(f.m.conntrack.get(ctKey(C, VIP2, 40000, 80, IPPROTO_TCP, CT_FORWARD))).toBeUndefined();
    expect(f.m.ctNew.entries()).toHaveLength(0);

    // The first flow's replies still leave as VIP1.
    const ack = tcp(LOCAL1.addr, C, 8080, 40000, 'A', fromC);
    const r = f.pod(ack);
    expect(r.retval).toBe(TC_ACT_OK);
    expect(r.data).toEqual(translated(ack, { src: VIP, sport: 80 }));
    expect(f.m.conntrack.get(ctKey(LOCAL1.addr, C, 8080, 40000, IPPROTO_TCP, CT_REPLY))!.nat).toMatchObject({
      saddr: VIP,
      sport: 80,
    });
  });

  it("gives a closing flow's reply key to a new flow from the same client port at once (the client's TIME_WAIT)", () => {
    clusterIp(VIP, 1);
    clusterIp(VIP2, 2);
    f.pod(tcp(C, VIP, 40001, 80, 'S', fromC));
    f.pod(tcp(LOCAL1.addr, C, 8080, 40001, 'SA', fromC));
    f.pod(tcp(C, VIP, 40001, 80, 'FA', fromC));
    f.pod(tcp(LOCAL1.addr, C, 8080, 40001, 'FA', fromC)); // FIN both ways: closing

    const syn = tcp(C, VIP2, 40001, 80, 'S', fromC);
    const r = f.pod(syn);
    expect(r.retval).toBe(TC_ACT_OK);
    expect(r.data).toEqual(translated(syn, { dst: LOCAL1.addr, dport: 8080 }));
    expect(f.counter(CNT_CT_COLLISION)).toBe(0n);
    const synAck = tcp(LOCAL1.addr, C, 8080, 40001, 'SA', fromC);
    expect(f.pod(synAck).data).toEqual(translated(synAck, { src: VIP2, sport: 80 }));
  });

  it('lets the second flow have the key once the first is over, and a flow re-open its own key', () => {
    clusterIp(VIP, 1, IPPROTO_UDP);
    clusterIp(VIP2, 2, IPPROTO_UDP);
    const q = udp(C, VIP, 33333, 80, Buffer.from('q1'), fromC);
    expect(f.pod(q).data).toEqual(translated(q, { dst: LOCAL1.addr, dport: 8080 }));
    expect(f.pod(udp(C, VIP2, 33333, 80, Buffer.from('q2'), fromC)).retval).toBe(TC_ACT_SHOT);

    // The same flow re-selecting (its backend ID left; the same pod came back under a new ID):
    // the reply key it holds is its own, and is reused.
    f.m.backends.delete(LOCAL1.id);
    clusterIp(VIP, 1, IPPROTO_UDP, [{ ...LOCAL1, id: 203 }]);
    clusterIp(VIP2, 2, IPPROTO_UDP, [{ ...LOCAL1, id: 203 }]);
    expect(f.pod(q).data).toEqual(translated(q, { dst: LOCAL1.addr, dport: 8080 }));
    expect(f.m.ctNew.get(ctKey(LOCAL1.addr, C, 8080, 33333, IPPROTO_UDP, CT_REPLY))).toMatchObject({
      backendId: 203,
      nat: { saddr: VIP },
    });
    expect(f.counter(CNT_CT_COLLISION)).toBe(1n);

    // Both entries of the first flow idle past the UDP lifetime: the key is free for VIP2's flow.
    const old = ago(65n * NS_PER_S);
    if (old === undefined) return skipStep("a dead flow's reply key is taken over", 65n * NS_PER_S);
    for (const k of [
      ctKey(C, VIP, 33333, 80, IPPROTO_UDP, CT_FORWARD),
      ctKey(LOCAL1.addr, C, 8080, 33333, IPPROTO_UDP, CT_REPLY),
    ]) {
      f.m.ctNew.set(k, { ...f.m.ctNew.get(k)!, lastSeenNs: old });
    }
    const q2 = udp(C, VIP2, 33333, 80, Buffer.from('q2'), fromC);
    expect(f.pod(q2).data).toEqual(translated(q2, { dst: LOCAL1.addr, dport: 8080 }));
    const a = udp(LOCAL1.addr, C, 8080, 33333, Buffer.from('a2'), fromC);
    expect(f.pod(a).data).toEqual(translated(a, { src: VIP2, sport: 80 }));
  });
});
