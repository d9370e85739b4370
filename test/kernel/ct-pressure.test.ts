// Conntrack under pressure (issue 13): an idle established TCP flow through a ClusterIP must
// survive a flood of new, never-answered UDP flows three times the size of the conntrack map, sent
// through the data path itself (BPF_PROG_TEST_RUN), with 1 and with 3 packets per flood flow. With
// one LRU table for every flow the flood evicted it; new flows now wait in ct_new (bpf/ct.h), and
// the flood only ever evicts its own kind.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { BpfObject, testRun, type BpfProgram } from '../../src/bpf/index.js';
import {
  CNT_CT_NEW_ADDED,
  CNT_CT_NEW_REMOVED,
  CT_FORWARD,
  CT_REPLY,
  CT_SEEN_REPLY,
  IPPROTO_TCP,
  IPPROTO_UDP,
  SCOPE_INTERNAL,
} from '../../src/abi/index.js';
import { buildPacket, parsePacket } from '../lib/packet.js';
import {
  ServiceTable,
  counter,
  ctKey,
  eth,
  runProgram,
  tcpSpec,
  translated,
  udpSpec,
  type BackendSpec,
} from '../lib/datapath.js';
import { describeRoot } from '../lib/root.js';
import { dataplaneMaps, type DataplaneMaps } from '../../src/dataplane/maps.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const TC_ACT_OK = 0;
const VIP = '10.96.0.10';
const CLIENT = '10.244.0.20';
const WEB: BackendSpec = { id: 101, addr: '10.244.1.1', port: 8080 };
const DNS: BackendSpec = { id: 201, addr: '10.244.1.2', port: 5353 };
const L2 = eth('02:00:00:00:00:01', '02:00:00:00:00:02');

let obj: BpfObject | undefined;
let prog: BpfProgram;
let m: DataplaneMaps;
let table: ServiceTable;

const tcp = (src: string, dst: string, sport: number, dport: number, flags: string) =>
  tcpSpec(L2, src, dst, sport, dport, flags);

/** Sets the IPv4 header checksum of an Ethernet frame's IP header (bytes 14..33). */
function fixIpChecksum(frame: Buffer): void {
  frame.writeUInt16BE(0, 24);
  let sum = 0;
  for (let i = 14; i < 34; i += 2) sum += frame.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  frame.writeUInt16BE(~sum & 0xffff, 24);
}

/**
 * @flows new UDP flows to VIP:53, each @packets datagrams, from distinct sources (10.245.0.0/16,
 * 64 ports each), none answered. One frame, its source rewritten per flow.
 */
function flood(flows: number, packets: number): void {
  const frame = buildPacket(udpSpec(L2, '10.245.0.0', VIP, 1024, 53, Buffer.from('flood')));
  frame.writeUInt16BE(0, 40); // UDP checksum 0: none to keep valid as the source changes
  for (let i = 0; i < flows; i++) {
    const host = i >>> 6;
    frame.writeUInt8((host >>> 8) & 0xff, 28);
    frame.writeUInt8(host & 0xff, 29);
    frame.writeUInt16BE(1024 + (i & 63), 34);
    fixIpChecksum(frame);
    for (let p = 0; p < packets; p++) testRun(prog, frame);
  }
}

/** An established connection: handshake done, answered, so its entries are in conntrack. */
function establish(sport: number): void {
  expect(parsePacket(runProgram(prog, tcp(CLIENT, VIP, sport, 80, 'S')).data).ip.dst).toBe(WEB.addr);
  runProgram(prog, tcp(WEB.addr, CLIENT, 8080, sport, 'SA'));
  runProgram(prog, tcp(CLIENT, VIP, sport, 80, 'A'));
  expect(m.conntrack.get(ctKey(CLIENT, VIP, sport, 80, IPPROTO_TCP, CT_FORWARD))!.flags & CT_SEEN_REPLY).toBe(
    CT_SEEN_REPLY,
  );
}

/** The idle connection still goes both ways, with the rewrite of its own conntrack entries. */
function expectAnswers(sport: number): void {
  const req = tcp(CLIENT, VIP, sport, 80, 'PA');
  const r = runProgram(prog, req);
  expect(r.retval).toBe(TC_ACT_OK);
  expect(r.data).toEqual(translated(req, { dst: WEB.addr, dport: 8080 }));
  const ans = tcp(WEB.addr, CLIENT, 8080, sport, 'PA');
  expect(runProgram(prog, ans).data).toEqual(translated(ans, { src: VIP, sport: 80 }));
}

describeRoot('conntrack under pressure (BPF_PROG_TEST_RUN)', () => {
  beforeAll(() => {
    execFileSync('make', ['-s', '-C', ROOT, 'build/bpf/switchyard.o'], { stdio: 'inherit' });
    obj = BpfObject.open(`${ROOT}build/bpf/switchyard.o`);
    prog = obj.program('from_pod');
    m = dataplaneMaps(obj);
    table = new ServiceTable(m, { addr: VIP, port: 80, scope: SCOPE_INTERNAL, flags: 0 });
  });

  afterAll(() => obj?.close());

  beforeEach(() => {
    for (const map of Object.values(m)) map.clear();
    table.reset();
    table.add({ backends: [WEB], svcId: 1, setId: 1 });
    table.add({ port: 53, proto: IPPROTO_UDP, backends: [DNS], svcId: 2, setId: 2 });
  });

  // Each packet is one BPF_PROG_TEST_RUN call (about 30 us from here on a loaded machine): the
  // 3-packet flood is sized to ct_new, which it must cycle through, to keep the suite's time sane;
  // test/e2e/ct-pressure.test.ts floods at 3x conntrack's size with both.
  const cases = [
    { packets: 1, flows: () => 3 * m.conntrack.maxEntries, what: "3x the conntrack map's size" },
    { packets: 3, flows: () => 3 * m.ctNew.maxEntries, what: "3x ct_new's size (3/4 of conntrack's)" },
  ];
  for (const { packets, flows: flowsOf, what } of cases) {
    it(`an idle established flow answers after ${what} in new unanswered UDP flows, ${packets} packet(s) each`, () => {
      const ctSize = m.conntrack.maxEntries,
        newSize = m.ctNew.maxEntries;
      const flows = flowsOf();
      establish(40000);
      const started = Date.now();
      flood(flows, packets);
      const added = counter(m, CNT_CT_NEW_ADDED),
        removed = counter(m, CNT_CT_NEW_REMOVED);
      const present = BigInt(m.ctNew.keys().length);
      console.log(
        `flood of ${flows} flows x ${packets} packet(s) = ${flows / ctSize}x the ${ctSize} entries of conntrack ` +
          `(${(2 * flows) / newSize}x the ${newSize} entries of ct_new, 2 per flow) in ${Date.now() - started} ms; ` +
          `ct_new: ${added} added, ${removed} removed, ${present} present, ${added - removed - present} evicted; ` +
          `conntrack: ${m.conntrack.keys().length} entries`,
      );

      expectAnswers(40000);
      // The flood never reached conntrack: only the established flow's two entries are there.
      expect(m.conntrack.keys()).toHaveLength(2);
      expect(m.conntrack.get(ctKey(WEB.addr, CLIENT, 8080, 40000, IPPROTO_TCP, CT_REPLY))).toBeDefined();
      // Two entries per flood flow went into ct_new, and the LRU evicted all but what fits.
      expect(added).toBe(2n * BigInt(flows) + 2n);
      expect(removed).toBe(2n);
      expect(added - removed - present).toBeGreaterThanOrEqual(2n * BigInt(flows) - BigInt(newSize));
    });
  }

  it('a flow answered during a flood is promoted and survives it too; the newest unanswered flows are served', () => {
    establish(40000);
    flood(m.ctNew.maxEntries / 2, 1);
    establish(40001);
    flood(m.ctNew.maxEntries, 1);
    expectAnswers(40000);
    expectAnswers(40001);
    // The last flood flow is in ct_new and its answer is translated (and promotes it).
    const last = m.ctNew.maxEntries - 1;
    const src = `10.245.${(last >>> 6) >>> 8}.${(last >>> 6) & 0xff}`;
    const ans = udpSpec(L2, DNS.addr, src, 5353, 1024 + (last & 63), Buffer.from('late'));
    expect(runProgram(prog, ans).data).toEqual(translated(ans, { src: VIP, sport: 53 }));
    expect(m.conntrack.get(ctKey(src, VIP, 1024 + (last & 63), 53, IPPROTO_UDP, CT_FORWARD))).toMatchObject({
      flags: CT_SEEN_REPLY,
    });
  });
});
