// The pod range in config[0] (--cluster-cidr): from_pod looks a pod's packet to a pod address up
// only as a reply, since no frontend is ever a pod address (issue 14's socket-LB bench: with pod
// socket LB, pod → Service traffic is pod-to-pod on the wire), and only when a flow's reply has
// named its source (the reply-source filter, bpf/ct.h). Byte-exact through PROG_TEST_RUN.
import { expect, it } from 'vitest';
import {
  CT_FORWARD,
  CT_REPLY,
  CT_SEEN_REPLY,
  IPPROTO_TCP,
  IPPROTO_UDP,
  SCOPE_INTERNAL,
  type CtEntry,
  type CtKey,
} from '../../src/abi/index.js';
import { monotonicNs } from '../../src/bpf/clock.js';
import { fillReplySourcesAfterUpgrade } from '../../src/dataplane/maps.js';
import { describeRoot } from '../lib/root.js';
import {
  GW_MAC,
  LOCAL1,
  LOCAL2,
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

describeRoot('the reply-source filter: a packet from an address no reply named skips conntrack', () => {
  useFixture((x) => (f = x));
  const NONE = { saddr: '0.0.0.0', daddr: '0.0.0.0', sport: 0, dport: 0 };
  /** A replied ClusterIP flow POD_A:port → VIP:80 → backend, both entries, as a data path writes them. */
  const flowEntries = (port: number, be: typeof LOCAL1): Array<[CtKey, CtEntry]> => {
    const common = { lastSeenNs: monotonicNs(), backendId: be.id, svcId: 1, flags: CT_SEEN_REPLY };
    return [
      [
        ctKey(POD_A, VIP, port, 80, IPPROTO_TCP, CT_FORWARD),
        { ...common, nat: { ...NONE, daddr: be.addr, dport: be.port } },
      ],
      [
        ctKey(be.addr, POD_A, be.port, port, IPPROTO_TCP, CT_REPLY),
        { ...common, nat: { ...NONE, saddr: VIP, sport: 80 } },
      ],
    ];
  };
  const reply = (port: number, be: typeof LOCAL1) =>
    tcp(be.addr, POD_A, be.port, port, 'A', fromPod, Buffer.from('200 OK'));

  it('a flow planted behind the data path is not found until one it opened marks the backend', () => {
    f.m.config.set(0, { snatAddr: '0.0.0.0', ...PODS });
    f.addFrontend({ addr: VIP, port: 80, proto: IPPROTO_TCP, scope: SCOPE_INTERNAL, flags: 0, backends: [LOCAL1] });
    // Planted, not opened by a packet: LOCAL1 is no reply source yet, so its reply is not looked up.
    f.m.conntrack.setMany(flowEntries(40020, LOCAL1));
    const r = f.pod(reply(40020, LOCAL1));
    expect(r.retval).toBe(TC_ACT_OK);
    expect(r.data).toEqual(r.input);
    // A SYN through the ClusterIP picks LOCAL1 and marks it: now the planted flow's reply is found too.
    const syn = tcp(POD_A, VIP, 40021, 80, 'S', fromPod);
    expect(f.pod(syn).data).toEqual(translated(syn, { dst: LOCAL1.addr, dport: LOCAL1.port }));
    expect(f.pod(reply(40020, LOCAL1)).data).toEqual(translated(reply(40020, LOCAL1), { src: VIP, sport: 80 }));
  });

  it('an agent that finds flows but an empty filter (an agent without it ran here) fills it', () => {
    f.m.config.set(0, { snatAddr: '0.0.0.0', ...PODS });
    expect(fillReplySourcesAfterUpgrade(f.m)).toBe(false); // no flows: nothing to keep
    f.m.conntrack.setMany(flowEntries(40030, LOCAL2));
    expect(fillReplySourcesAfterUpgrade(f.m)).toBe(true);
    expect(f.pod(reply(40030, LOCAL2)).data).toEqual(translated(reply(40030, LOCAL2), { src: VIP, sport: 80 }));
    // A filter this data path marked is left as it is.
    f.m.ctReplySrc.clear();
    f.m.ctReplySrc.set(7, 1);
    expect(fillReplySourcesAfterUpgrade(f.m)).toBe(false);
    expect(f.m.ctReplySrc.entries().filter(([, v]) => v !== 0)).toEqual([[7, 1]]);
  });
});
