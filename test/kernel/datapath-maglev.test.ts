// Maglev in the data path (BPF_PROG_TEST_RUN through from_pod): a new flow takes the table entry its
// hash names, so the same tuple gets the same backend every time and through every node address,
// and a scale-down moves few flows. The maps are this file's own unpinned object, written by the
// real compile → plan → reconciler path. Prints the new-flow cost, Maglev against random.
import { execFileSync } from 'node:child_process';
import pino from 'pino';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { BpfObject, testRun, type BpfProgram } from '../../src/bpf/index.js';
import { compile, IdAllocator } from '../../src/compile/index.js';
import { dataplaneMaps, type DataplaneMaps } from '../../src/dataplane/maps.js';
import { Reconciler } from '../../src/dataplane/reconciler.js';
import { buildModel } from '../../src/model/index.js';
import { eth, runProgram, tcpSpec } from '../lib/datapath.js';
import { buildPacket, parsePacket } from '../lib/packet.js';
import { describeRoot } from '../lib/root.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const OBJECT = `${ROOT}build/bpf/switchyard.o`;
const TC_ACT_OK = 0;
const VIP = '10.96.0.10',
  CLIENT = '10.244.0.20',
  NODE_A = '172.16.0.11',
  NODE_B = '172.16.0.12';
const L2 = eth('02:00:00:00:00:01', '02:00:00:00:00:02');
// SY_MAGLEV_BENCH_SIZE=101 shows what the table's size costs: a 16381-entry table does not stay in
// cache the way a 10-entry slot list does, so most of Maglev's extra new-flow time is memory misses.
const TABLE_SIZE = Number(process.env.SY_MAGLEV_BENCH_SIZE ?? 16381);

let obj: BpfObject | undefined;
let prog: BpfProgram;
let m: DataplaneMaps;
let reconciler: Reconciler;
let ids: IdAllocator;

/** Programs Service web (ClusterIP VIP:80, NodePort 30080 on NODE_A and NODE_B) with @n backends. */
function program(n: number, algorithm: 'maglev' | 'random' = 'maglev', extraSpec: Record<string, unknown> = {}): void {
  const service = {
    kind: 'Service',
    metadata: { name: 'web', annotations: { 'switchyard.io/lb-algorithm': algorithm } },
    spec: { type: 'NodePort', clusterIP: VIP, ports: [{ port: 80, targetPort: 8080, nodePort: 30080 }], ...extraSpec },
  };
  const slice = {
    kind: 'EndpointSlice',
    metadata: { name: 'web-1', labels: { 'kubernetes.io/service-name': 'web' } },
    addressType: 'IPv4',
    ports: [{ port: 8080 }],
    endpoints: Array.from({ length: n }, (_, i) => ({ addresses: [`10.244.1.${i + 1}`], nodeName: 'node-b' })),
  };
  const wrap = (o: unknown) => [{ object: o as Record<string, unknown>, origin: 'web.yaml' }];
  const { model } = buildModel({ services: wrap(service), endpointSlices: wrap(slice), nodes: [], errors: [] });
  reconciler.sync(
    compile(model, { nodeName: 'node-a', nodePortAddresses: [NODE_A, NODE_B], maglevTableSize: TABLE_SIZE }, ids),
  );
}

/** The backend a SYN from CLIENT:@sport to @dst:@dport is sent to (a new flow: both conntrack tables cleared first). */
function backendFor(sport: number, dst = VIP, dport = 80): string {
  m.conntrack.clear();
  m.ctNew.clear();
  const r = runProgram(prog, tcpSpec(L2, CLIENT, dst, sport, dport));
  expect(r.retval).toBe(TC_ACT_OK);
  return parsePacket(r.data).ip.dst;
}

const SPORTS = Array.from({ length: 200 }, (_, i) => 20000 + i * 7);

describeRoot('Maglev data path (BPF_PROG_TEST_RUN)', () => {
  beforeAll(() => {
    execFileSync('make', ['-s', '-C', ROOT, 'build/bpf/switchyard.o'], { stdio: 'inherit' });
    obj = BpfObject.open(OBJECT);
    prog = obj.program('from_pod');
    m = dataplaneMaps(obj);
  });
  afterAll(() => obj?.close());
  beforeEach(() => {
    for (const map of Object.values(m)) map.clear();
    reconciler = new Reconciler(m, pino({ level: 'silent' }));
    ids = new IdAllocator();
  });

  it('sends the same tuple to the same backend every time, and spreads tuples over all backends', () => {
    program(3);
    expect(m.maglev.entries()).toHaveLength(TABLE_SIZE);
    expect(m.slots.entries()).toHaveLength(0);
    const first = SPORTS.map((p) => backendFor(p));
    expect(SPORTS.map((p) => backendFor(p))).toEqual(first);
    const counts = new Map<string, number>();
    for (const b of first) counts.set(b, (counts.get(b) ?? 0) + 1);
    expect([...counts.keys()].sort()).toEqual(['10.244.1.1', '10.244.1.2', '10.244.1.3']);
    for (const c of counts.values()) expect(c).toBeGreaterThan(40); // 200/3 each, give or take
  });

  it('picks by client address and ports, not by node address: NodePort via either node, same backend', () => {
    program(10);
    const viaA = SPORTS.slice(0, 20).map((p) => backendFor(p, NODE_A, 30080));
    const viaB = SPORTS.slice(0, 20).map((p) => backendFor(p, NODE_B, 30080));
    expect(viaB).toEqual(viaA);
    expect(new Set(viaA).size).toBeGreaterThan(3);
  });

  it('lets ClientIP affinity win over the hash: every port of one client goes to its first backend', () => {
    program(10, 'maglev', { sessionAffinity: 'ClientIP' });
    const first = backendFor(SPORTS[0]!);
    expect(SPORTS.slice(1, 40).map((p) => backendFor(p))).toEqual(Array(39).fill(first));
    program(10); // the same tuples without affinity spread over the table
    expect(new Set(SPORTS.slice(0, 40).map((p) => backendFor(p))).size).toBeGreaterThan(3);
  });

  it('keeps at least 85% of tuples on their backend when 10 backends become 9', () => {
    program(10);
    const before = SPORTS.map((p) => backendFor(p));
    program(9); // 10.244.1.10 leaves
    const after = SPORTS.map((p) => backendFor(p));
    expect(after).not.toContain('10.244.1.10');
    const kept = before.filter((b, i) => b === after[i]).length;
    expect(kept / SPORTS.length).toBeGreaterThanOrEqual(0.85);
    // Flows whose backend stayed keep it: only the leaver's flows and Maglev's small churn move.
    const movedOthers = before.filter((b, i) => b !== '10.244.1.10' && b !== after[i]).length;
    expect(movedOthers / SPORTS.length).toBeLessThanOrEqual(0.12);
  });

  it('benchmark: new-flow cost, Maglev against random (kernel-timed, one SYN per new tuple)', () => {
    const cost = (algorithm: 'maglev' | 'random') => {
      for (const map of Object.values(m)) map.clear();
      reconciler = new Reconciler(m, pino({ level: 'silent' }));
      program(10, algorithm);
      const ns: number[] = [];
      for (let i = 0; i < 3000; i++) {
        const pkt = buildPacket(tcpSpec(L2, `10.244.${(i >> 8) & 255}.${i & 255}`, VIP, 10000 + (i % 50000), 80));
        ns.push(testRun(prog, pkt).durationNs);
      }
      ns.sort((a, b) => a - b);
      return ns[ns.length >> 1]!;
    };
    // Interleaved rounds, medians of medians: the order and the machine's other load matter less.
    const rounds = [0, 1, 2].map((r) => {
      if (r % 2) {
        const m = cost('maglev');
        return { maglev: m, random: cost('random') };
      }
      const rnd = cost('random');
      return { maglev: cost('maglev'), random: rnd };
    });
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1]!;
    const maglev = median(rounds.map((r) => r.maglev));
    const random = median(rounds.map((r) => r.random));
    console.log(
      `bench: new-flow median ${maglev} ns Maglev vs ${random} ns random (PROG_TEST_RUN, from_pod, 10 backends, table ${TABLE_SIZE})`,
    );
    expect(maglev).toBeGreaterThan(0);
  });
});
