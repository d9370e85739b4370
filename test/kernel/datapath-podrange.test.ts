// The pod range in config[0] (--cluster-cidr): from_pod looks a pod's packet to a pod address up
// only as a reply, since no frontend is ever a pod address (issue 14's socket-LB bench: with pod
// socket LB, pod → Service traffic is pod-to-pod on the wire). Byte-exact through PROG_TEST_RUN.
import { expect, it } from 'vitest';
import { CT_FORWARD, CT_REPLY, IPPROTO_TCP, IPPROTO_UDP, SCOPE_INTERNAL } from '../../src/abi/index.js';
import { describeRoot } from '../lib/root.js';
import {
  GW_MAC,
  LOCAL1,
  POD_A,
  POD_MAC,
  TC_ACT_OK,
  VIP,
  ctKey,
  eth,
  useFixture,
  tcp,
  translated,
  udp,
  type Fixture,
} from '../lib/dp-fixture.js';

const fromPod = eth(POD_MAC, GW_MAC);
const PODS = { podNet: '10.244.0.0', podMask: '255.255.0.0' };
const NO_RANGE = { podNet: '0.0.0.0', podMask: '0.0.0.0' };
let f: Fixture;

describeRoot('the pod range: pod-to-pod packets skip the Service lookups (BPF_PROG_TEST_RUN)', () => {
  useFixture((x) => (f = x));
  const config = (range: typeof PODS) => f.m.config.set(0, { snatAddr: '0.0.0.0', ...range });

  it('a frontend inside the pod range (one the agent never writes) is not looked up once the range is set', () => {
    // Proof that the lookup is skipped, not just missed: the same SYN is translated without it.
    f.addFrontend({
      addr: '10.244.9.9',
      port: 80,
      proto: IPPROTO_TCP,
      scope: SCOPE_INTERNAL,
      flags: 0,
      backends: [LOCAL1],
    });
    const syn = tcp(POD_A, '10.244.9.9', 40000, 80, 'S', fromPod);
    config(NO_RANGE);
    expect(f.pod(syn).data).toEqual(translated(syn, { dst: LOCAL1.addr, dport: LOCAL1.port }));
    for (const map of [f.m.conntrack, f.m.ctNew]) map.clear();

    config(PODS);
    const r = f.pod(syn);
    expect(r.retval).toBe(TC_ACT_OK);
    expect(r.data).toEqual(r.input);
    expect(f.m.ctNew.entries()).toHaveLength(0);
    expect(f.m.conntrack.entries()).toHaveLength(0);
  });

  it('a backend pod still answers a pod through the ClusterIP: its replies to a pod address are translated', () => {
    config(PODS);
    f.addFrontend({ addr: VIP, port: 80, proto: IPPROTO_TCP, scope: SCOPE_INTERNAL, flags: 0, backends: [LOCAL1] });
    const to = { dst: LOCAL1.addr, dport: LOCAL1.port };
    const from = { src: VIP, sport: 80 };
    const syn = tcp(POD_A, VIP, 40001, 80, 'S', fromPod);
    expect(f.pod(syn).data).toEqual(translated(syn, to));
    // The first answer (ct_new), then both directions established (conntrack).
    const synAck = tcp(LOCAL1.addr, POD_A, LOCAL1.port, 40001, 'SA', fromPod);
    expect(f.pod(synAck).data).toEqual(translated(synAck, from));
    const ack = tcp(POD_A, VIP, 40001, 80, 'A', fromPod, Buffer.from('GET /'));
    expect(f.pod(ack).data).toEqual(translated(ack, to));
    const data = tcp(LOCAL1.addr, POD_A, LOCAL1.port, 40001, 'PA', fromPod, Buffer.from('200 OK'));
    expect(f.pod(data).data).toEqual(translated(data, from));
    expect(f.m.conntrack.get(ctKey(POD_A, VIP, 40001, 80, IPPROTO_TCP, CT_FORWARD))).toBeDefined();
    expect(f.m.conntrack.get(ctKey(LOCAL1.addr, POD_A, LOCAL1.port, 40001, IPPROTO_TCP, CT_REPLY))).toBeDefined();
  });

  it('UDP to a pod address passes untouched; a UDP answer through the ClusterIP is translated', () => {
    config(PODS);
    f.addFrontend({ addr: VIP, port: 53, proto: IPPROTO_UDP, scope: SCOPE_INTERNAL, flags: 0, backends: [LOCAL1] });
    const direct = udp(POD_A, LOCAL1.addr, 33000, LOCAL1.port, Buffer.from('q'), fromPod);
    const r = f.pod(direct);
    expect(r.data).toEqual(r.input);
    const q = udp(POD_A, VIP, 33001, 53, Buffer.from('q'), fromPod);
    expect(f.pod(q).data).toEqual(translated(q, { dst: LOCAL1.addr, dport: LOCAL1.port }));
    const a = udp(LOCAL1.addr, POD_A, LOCAL1.port, 33001, Buffer.from('a'), fromPod);
    expect(f.pod(a).data).toEqual(translated(a, { src: VIP, sport: 53 }));
  });
});
