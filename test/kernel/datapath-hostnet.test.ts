// A Service whose endpoint is this node's own address (a host-network pod, the API server on a
// control-plane node), reached from a pod on the node (issue 14). from_pod translates the forward
// packet; the node's socket answers through the stack and out the pod's veth, where to_pod
// (egress) must give the answer the Service address back. Byte-exact through PROG_TEST_RUN.
import { expect, it } from 'vitest';
import {
  CNT_ICMP_XLATED,
  CT_FORWARD,
  CT_REPLY,
  CT_SEEN_REPLY,
  IPPROTO_TCP,
  IPPROTO_UDP,
  SCOPE_INTERNAL,
} from '../../src/abi/index.js';
import { buildPacket, parsePacket } from '../lib/packet.js';
import { describeRoot } from '../lib/root.js';
import {
  GW_MAC,
  LOCAL1,
  NODE_A,
  POD_A,
  POD_MAC,
  TC_ACT_OK,
  VIP,
  ctKey,
  eth,
  icmpError,
  useFixture,
  tcp,
  translated,
  udp,
  type BackendSpec,
  type Fixture,
} from '../lib/dp-fixture.js';

/** The API server on this node's address, as the `kubernetes` Service's endpoint. */
const HOST_EP: BackendSpec = { id: 401, addr: NODE_A, port: 6443, local: true };
const fromPod = eth(POD_MAC, GW_MAC);
const toPod = eth(GW_MAC, POD_MAC);
let f: Fixture;

describeRoot('host-network endpoints on the tc path: to_pod (BPF_PROG_TEST_RUN)', () => {
  useFixture((x) => (f = x));

  const kubernetesSvc = (proto = IPPROTO_TCP, backends = [HOST_EP]) =>
    f.addFrontend({ addr: VIP, port: 443, proto, scope: SCOPE_INTERNAL, flags: 0, backends });

  it('a pod → ClusterIP → this node’s address: the node’s answers reach the pod from the ClusterIP', () => {
    kubernetesSvc();
    const syn = tcp(POD_A, VIP, 40000, 443, 'S', fromPod);
    const fwd = f.pod(syn);
    expect(fwd.retval).toBe(TC_ACT_OK);
    expect(fwd.data).toEqual(translated(syn, { dst: NODE_A, dport: 6443 }));

    // The node's SYN-ACK leaves through the stack to the pod veth: its first answer, in ct_new.
    const synAck = tcp(NODE_A, POD_A, 6443, 40000, 'SA', toPod);
    const back = f.toPod(synAck);
    expect(back.retval).toBe(TC_ACT_OK);
    expect(back.data).toEqual(translated(synAck, { src: VIP, sport: 443 }));
    const reply = f.m.conntrack.get(ctKey(NODE_A, POD_A, 6443, 40000, IPPROTO_TCP, CT_REPLY));
    expect(reply?.flags).toBe(CT_SEEN_REPLY);
    expect(f.m.ctNew.entries()).toHaveLength(0);

    // Established both ways, as replied flows in conntrack.
    const ack = tcp(POD_A, VIP, 40000, 443, 'A', fromPod, Buffer.from('GET / HTTP/1.1\r\n\r\n'));
    expect(f.pod(ack).data).toEqual(translated(ack, { dst: NODE_A, dport: 6443 }));
    const data = tcp(NODE_A, POD_A, 6443, 40000, 'PA', toPod, Buffer.from('HTTP/1.1 200 OK\r\n\r\n'));
    expect(f.toPod(data).data).toEqual(translated(data, { src: VIP, sport: 443 }));
    expect(f.m.conntrack.get(ctKey(POD_A, VIP, 40000, 443, IPPROTO_TCP, CT_FORWARD))).toBeDefined();
  });

  it('UDP: the answer is translated, and the node’s port unreachable names the ClusterIP', () => {
    kubernetesSvc(IPPROTO_UDP);
    const q = udp(POD_A, VIP, 33333, 443, Buffer.from('ping'), fromPod);
    const sent = f.pod(q);
    expect(sent.data).toEqual(translated(q, { dst: NODE_A, dport: 6443 }));
    const a = udp(NODE_A, POD_A, 6443, 33333, Buffer.from('pong'), toPod);
    expect(f.toPod(a).data).toEqual(translated(a, { src: VIP, sport: 443 }));

    const err = f.toPod(icmpError(NODE_A, POD_A, 3, 3, sent.data, toPod));
    expect(err.retval).toBe(TC_ACT_OK);
    expect(err.data).toEqual(buildPacket(icmpError(VIP, POD_A, 3, 3, sent.input, toPod)));
    expect(f.counter(CNT_ICMP_XLATED)).toBe(1n);
  });

  it('passes untouched what is no reply of a translated flow, and never starts a flow', () => {
    kubernetesSvc();
    // The node's own connection to the pod; a reply already translated by from_pod (source =
    // the ClusterIP); a SYN to a Service address coming from the node (egress is no client hook).
    const frames = [
      tcp(NODE_A, POD_A, 6443, 40001, 'SA', toPod),
      tcp(NODE_A, POD_A, 22, 50000, 'A', toPod),
      tcp(VIP, POD_A, 443, 40000, 'A', toPod),
      tcp(NODE_A, VIP, 41000, 443, 'S', toPod),
    ];
    for (const frame of frames) {
      const r = f.toPod(frame);
      expect(r.retval).toBe(TC_ACT_OK);
      expect(r.data).toEqual(r.input);
    }
    expect(f.m.ctNew.entries()).toHaveLength(0);
    expect(f.m.conntrack.entries()).toHaveLength(0);
  });

  it('looks only at what the node itself sends: a packet that came in on a device passes unread', () => {
    kubernetesSvc();
    f.pod(tcp(POD_A, VIP, 40003, 443, 'S', fromPod));
    const synAck = tcp(NODE_A, POD_A, 6443, 40003, 'SA', toPod);
    // The same answer, as if forwarded from another device (ifindex 7): left alone, the flow
    // still waiting in ct_new (its two keys) for the node's own answer.
    const forwarded = f.toPod(synAck, { ingressIfindex: 7 });
    expect(forwarded.retval).toBe(TC_ACT_OK);
    expect(forwarded.data).toEqual(forwarded.input);
    expect(f.m.ctNew.entries()).toHaveLength(2);
    // From the node's own socket (no ingress device): translated, the flow promoted.
    expect(f.toPod(synAck).data).toEqual(translated(synAck, { src: VIP, sport: 443 }));
    expect(f.m.ctNew.entries()).toHaveLength(0);
  });

  it('a backend pod’s reply, translated by from_pod, is left alone on the client’s veth', () => {
    kubernetesSvc(IPPROTO_TCP, [LOCAL1]);
    f.pod(tcp(POD_A, VIP, 40002, 443, 'S', fromPod));
    const synAck = tcp(LOCAL1.addr, POD_A, 8080, 40002, 'SA', fromPod);
    const once = f.pod(synAck);
    expect(parsePacket(once.data).ip.src).toBe(VIP);
    const r = f.toPod(once.data);
    expect(r.retval).toBe(TC_ACT_OK);
    expect(r.data).toEqual(once.data);
  });
});
