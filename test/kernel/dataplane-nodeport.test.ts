// The control plane's NodePort maps against a real object: a LoadBalancer with
// loadBalancerSourceRanges compiled and reconciled into source_ranges, read by from_netdev; the
// config entry; and an agent restart that finds everything in the pins and writes nothing.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { pino } from 'pino';
import { BpfObject, silenceLibbpf, testRun } from '../../src/bpf/index.js';
import { CNT_SOURCE_DENIED, SCOPE_EXTERNAL } from '../../src/abi/index.js';
import { compile, IdAllocator, seedFromPinned, type DesiredState, type NodeConfig } from '../../src/compile/index.js';
import { dataplaneMaps, type DataplaneMaps } from '../../src/dataplane/maps.js';
import { Reconciler } from '../../src/dataplane/reconciler.js';
import { buildModel } from '../../src/model/index.js';
import { buildPacket, parsePacket } from '../lib/packet.js';
import { withBpffs } from '../lib/namespaces.js';
import { describeRoot } from '../lib/root.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const OBJECT = `${ROOT}build/bpf/switchyard.o`;
const TC_ACT_OK = 0,
  TC_ACT_SHOT = 2;
const NODE = { nodeName: 'node1', nodePortAddresses: ['10.250.0.11'] };
const LB_IP = '198.51.100.7';
const log = pino({ level: 'silent' });

type Obj = Record<string, unknown>;
const lbService = (ranges: string[]): Obj => ({
  kind: 'Service',
  metadata: { name: 'web', namespace: 'default' },
  spec: {
    type: 'LoadBalancer',
    clusterIP: '10.96.5.2',
    loadBalancerSourceRanges: ranges,
    ports: [{ name: 'http', port: 80, targetPort: 8080, nodePort: 30080 }],
  },
  status: { loadBalancer: { ingress: [{ ip: LB_IP }] } },
});
const slice: Obj = {
  kind: 'EndpointSlice',
  metadata: { name: 'web-1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } },
  addressType: 'IPv4',
  ports: [{ name: 'http', port: 8080 }],
  endpoints: [{ addresses: ['10.244.1.11'], conditions: { ready: true }, nodeName: 'node1' }],
};

function desiredFor(ranges: string[], ids: IdAllocator, node: NodeConfig = NODE): DesiredState {
  const wrap = (o: Obj) => [{ object: o, origin: 'test.yaml' }];
  const { model } = buildModel({
    services: wrap(lbService(ranges)),
    endpointSlices: wrap(slice),
    nodes: [],
    errors: [],
  });
  return compile(model, node, ids);
}

describeRoot('NodePort maps: source ranges and config, reconciled into a real object', () => {
  let bpffs: { dir: string; cleanup(): void };
  let obj: BpfObject | undefined;
  let maps: DataplaneMaps;

  const open = () => {
    obj?.close();
    obj = BpfObject.open(OBJECT, { pinDir: bpffs.dir });
    maps = dataplaneMaps(obj);
  };
  const syn = (src: string) =>
    buildPacket({ ip: { src, dst: LB_IP, ttl: 63 }, tcp: { sport: 40000, dport: 80, flags: 'S' } });
  const verdict = (src: string) => testRun(obj!.program('from_netdev'), syn(src));
  const denied = () => (maps.counters.get(CNT_SOURCE_DENIED) ?? []).reduce((a, b) => a + b, 0n);

  beforeAll(() => {
    execFileSync('make', ['-s', '-C', ROOT, 'build/bpf/switchyard.o'], { stdio: 'pipe' });
    silenceLibbpf();
    bpffs = withBpffs('sy-npmaps');
    open();
  });
  afterAll(() => {
    obj?.close();
    bpffs?.cleanup();
  });

  it('admits clients inside loadBalancerSourceRanges and drops the rest, as compiled and reconciled', () => {
    const ids = new IdAllocator();
    const r = new Reconciler(maps, log);
    r.sync(desiredFor(['10.250.0.0/24', '192.0.2.9/32'], ids));
    expect(
      maps.sourceRanges
        .entries()
        .map(([k]) => k)
        .sort((a, b) => a.prefixlen - b.prefixlen),
    ).toEqual([
      { prefixlen: 56, svcId: 1, addr: '10.250.0.0' },
      { prefixlen: 64, svcId: 1, addr: '192.0.2.9' },
    ]);
    expect(maps.frontends.get({ addr: LB_IP, port: 80, proto: 6, scope: SCOPE_EXTERNAL })).toBeDefined();

    const ok = verdict('10.250.0.200');
    expect(ok.retval).toBe(TC_ACT_OK);
    expect(parsePacket(ok.data).ip.dst).toBe('10.244.1.11');
    expect(verdict('192.0.2.9').retval).toBe(TC_ACT_OK);
    expect(verdict('192.0.2.10').retval).toBe(TC_ACT_SHOT);
    expect(denied()).toBe(1n);

    // Ranges edited: the new one is in, the dropped one out.
    r.sync(desiredFor(['192.0.2.0/24'], ids));
    expect(maps.sourceRanges.entries().map(([k]) => k)).toEqual([{ prefixlen: 56, svcId: 1, addr: '192.0.2.0' }]);
    expect(verdict('192.0.2.10').retval).toBe(TC_ACT_OK);
    expect(verdict('10.250.0.201').retval).toBe(TC_ACT_SHOT);

    // No ranges any more: everyone is admitted, and the trie is empty.
    r.sync(desiredFor([], ids));
    expect(maps.sourceRanges.entries()).toEqual([]);
    expect(verdict('10.250.0.202').retval).toBe(TC_ACT_OK);
  });

  it('writes config when the SNAT address changes, and nothing after a restart that finds it all in the pins', () => {
    const ids = new IdAllocator();
    const snatNode = { ...NODE, snatAddress: '10.250.0.11' };
    const first = new Reconciler(maps, log);
    first.sync(desiredFor(['10.250.0.0/24'], ids, NODE));
    expect(maps.config.get(0)).toEqual({ snatAddr: '0.0.0.0', podNet: '0.0.0.0', podMask: '0.0.0.0' });
    expect(first.sync(desiredFor(['10.250.0.0/24'], ids, snatNode)).writes).toBe(1);
    expect(maps.config.get(0)).toMatchObject({ snatAddr: '10.250.0.11' });
    expect(first.sync(desiredFor(['10.250.0.0/24'], ids, snatNode)).writes).toBe(0);

    // The agent restarts: new object on the same pins, ids recovered, the same world.
    open();
    const again = new Reconciler(maps, log);
    const ids2 = new IdAllocator();
    const { model } = buildModel({
      services: [{ object: lbService(['10.250.0.0/24']), origin: 't' }],
      endpointSlices: [{ object: slice, origin: 't' }],
      nodes: [],
      errors: [],
    });
    seedFromPinned(ids2, model, snatNode, again.current);
    const result = again.sync(desiredFor(['10.250.0.0/24'], ids2, snatNode));
    expect({ writes: result.writes, deletes: result.deletes }).toEqual({ writes: 0, deletes: 0 });
    expect(maps.config.get(0)).toMatchObject({ snatAddr: '10.250.0.11' });
  });
});
