// The NodePort side of the control plane, without a kernel: node addresses from the uplinks
// (--devices, --nodeport-addresses), and the plans for the source_ranges and config maps.
import { describe, expect, it } from 'vitest';
import {
  compile,
  IdAllocator,
  IncrementalCompiler,
  type DesiredState,
  type NodeConfig,
} from '../../src/compile/index.js';
import { buildModel } from '../../src/model/index.js';
import { globsToRegExp } from '../../src/agent/devices.js';
import { nodeAddresses, sameNodeAddresses, type InterfaceTable } from '../../src/agent/nodeaddrs.js';
import { pino } from 'pino';
import type { DataplaneMaps } from '../../src/dataplane/maps.js';
import { Reconciler } from '../../src/dataplane/reconciler.js';
import { planConfig, planConfig6 } from '../../src/dataplane/node-config.js';
import {
  desiredSourceRanges,
  planSourceRanges,
  sourceRangeKey,
  sourceRangesFromMap,
} from '../../src/dataplane/source-ranges.js';

const v4 = (address: string) => ({ address, family: 'IPv4' });
const v6 = (address: string) => ({ address, family: 'IPv6' });
const IFACES: InterfaceTable = {
  lo: [v4('127.0.0.1'), v6('::1')],
  eth1: [v4('192.168.7.5'), v6('fd00::5')],
  eth0: [v4('10.250.0.11'), v4('10.250.0.111'), v6('fe80::1')],
  cali1234: [v4('169.254.1.1')],
  ens5: [],
};

describe('nodeAddresses: where NodePorts answer, and the SNAT address', () => {
  it('takes every address of both families of the --devices interfaces (IPv6 link-local excepted), devices by name, addresses in kernel order', () => {
    expect(nodeAddresses(IFACES, globsToRegExp('eth*,ens*'), [])).toEqual({
      nodePortAddresses: ['10.250.0.11', '10.250.0.111', '192.168.7.5', 'fd00::5'],
      snatAddress: '10.250.0.11',
      snatAddress6: 'fd00::5',
      all: ['10.250.0.11', '10.250.0.111', '192.168.7.5', 'fd00::5'],
    });
    expect(nodeAddresses(IFACES, globsToRegExp('eth1'), [])).toEqual({
      nodePortAddresses: ['192.168.7.5', 'fd00::5'],
      snatAddress: '192.168.7.5',
      snatAddress6: 'fd00::5',
      all: ['192.168.7.5', 'fd00::5'],
    });
    expect(nodeAddresses({ eth0: [v6('FD00:0::7'), v6('fe80::1')] }, globsToRegExp('eth0'), [])).toEqual({
      nodePortAddresses: ['fd00::7'],
      snatAddress6: 'fd00::7',
      all: ['fd00::7'],
    });
  });

  it('filters by --nodeport-addresses like kube-proxy, but never the SNAT address', () => {
    const eth = globsToRegExp('eth*');
    // Every address stays in `all`: none may be claimed as an externalIP, NodePort or not.
    // Per family: an IPv4 CIDR alone leaves every IPv6 address answering, and the reverse.
    expect(nodeAddresses(IFACES, eth, ['192.168.0.0/16'])).toEqual({
      nodePortAddresses: ['192.168.7.5', 'fd00::5'],
      snatAddress: '10.250.0.11',
      snatAddress6: 'fd00::5',
      all: ['10.250.0.11', '10.250.0.111', '192.168.7.5', 'fd00::5'],
    });
    expect(nodeAddresses(IFACES, eth, ['192.168.0.0/16', 'fd01::/16']).nodePortAddresses).toEqual(['192.168.7.5']);
    expect(nodeAddresses(IFACES, eth, ['10.250.0.111/32', '172.16.0.0/12', '::/0']).nodePortAddresses).toEqual([
      '10.250.0.111',
      'fd00::5',
    ]);
    // Host bits in the CIDR do not matter; no match leaves no NodePort address at all.
    expect(nodeAddresses(IFACES, eth, ['10.250.0.77/24', 'fd01::/16']).nodePortAddresses).toEqual([
      '10.250.0.11',
      '10.250.0.111',
    ]);
    expect(nodeAddresses(IFACES, eth, ['172.16.0.0/12', 'fd01::/16']).nodePortAddresses).toEqual([]);
    // 0.0.0.0/0, or IPv6 CIDRs only, mean every IPv4 address.
    expect(nodeAddresses(IFACES, eth, ['0.0.0.0/0', 'fd00::/8']).nodePortAddresses).toEqual([
      '10.250.0.11',
      '10.250.0.111',
      '192.168.7.5',
      'fd00::5',
    ]);
  });

  it('has nothing without --devices or without IPv4 addresses, and compares by value', () => {
    expect(nodeAddresses(IFACES, undefined, [])).toEqual({ nodePortAddresses: [], all: [] });
    expect(nodeAddresses(IFACES, globsToRegExp('ens*'), [])).toEqual({ nodePortAddresses: [], all: [] });
    const a = nodeAddresses(IFACES, globsToRegExp('eth*'), []);
    expect(sameNodeAddresses(a, nodeAddresses({ ...IFACES }, globsToRegExp('eth*'), []))).toBe(true);
    expect(
      sameNodeAddresses(a, nodeAddresses({ ...IFACES, eth1: [v4('192.168.7.6')] }, globsToRegExp('eth*'), [])),
    ).toBe(false);
  });
});

type Obj = Record<string, unknown>;
function compiled(services: Obj[]): DesiredState {
  const wrap = (objs: Obj[]) => objs.map((object) => ({ object, origin: 'test.yaml' }));
  const { model, errors } = buildModel({ services: wrap(services), endpointSlices: [], nodes: [], errors: [] });
  expect(errors).toEqual([]);
  return compile(model, { nodeName: 'node1', nodePortAddresses: ['10.250.0.11'] }, new IdAllocator());
}
const lb = (
  name: string,
  ranges: string[],
  ingress = '198.51.100.7',
  ports: Obj[] = [{ name: 'http', port: 80, nodePort: 30080 }],
): Obj => ({
  kind: 'Service',
  metadata: { name, namespace: 'default' },
  spec: { type: 'LoadBalancer', clusterIP: '10.96.5.2', loadBalancerSourceRanges: ranges, ports },
  status: { loadBalancer: { ingress: [{ ip: ingress }] } },
});

describe('source ranges: desired entries and the diff', () => {
  it('keys each range by svc_id and network, with prefixlen counting the svc_id', () => {
    expect(sourceRangeKey(7, '10.1.2.3/8')).toEqual({ prefixlen: 40, svcId: 7, addr: '10.0.0.0' });
    expect(sourceRangeKey(7, '0.0.0.0/0')).toEqual({ prefixlen: 32, svcId: 7, addr: '0.0.0.0' });
    expect(sourceRangeKey(7, '203.0.113.9/32')).toEqual({ prefixlen: 64, svcId: 7, addr: '203.0.113.9' });
    expect(sourceRangeKey(7, 'fd00::ff/8')).toEqual({ prefixlen: 40, svcId: 7, addr: 'fd00::' });
    expect(sourceRangeKey(7, '2001:db8::1/128')).toEqual({ prefixlen: 160, svcId: 7, addr: '2001:db8::1' });
  });

  it('programs ranges for every port of a LoadBalancer with loadBalancerSourceRanges, none otherwise', () => {
    const d = compiled([
      lb('a', ['203.0.113.0/24', '192.0.2.128/25', 'fd00::/8'], '198.51.100.7', [
        { name: 'http', port: 80, nodePort: 30080 },
        { name: 'https', port: 443, nodePort: 30443 },
      ]),
      {
        ...lb('b', []),
        spec: { ...(lb('b', []).spec as Obj), clusterIP: '10.96.5.3' },
        status: { loadBalancer: { ingress: [{ ip: '198.51.100.8' }] } },
      },
    ]);
    const keys = [...desiredSourceRanges(d).values()];
    const svcIds = [...d.services]
      .filter(([, s]) => s.name === 'a')
      .map(([id]) => id)
      .sort();
    expect(svcIds).toHaveLength(2);
    expect(keys.sort((x, y) => x.svcId - y.svcId || x.addr.localeCompare(y.addr))).toEqual(
      svcIds.flatMap((svcId) => [
        { prefixlen: 57, svcId, addr: '192.0.2.128' },
        { prefixlen: 56, svcId, addr: '203.0.113.0' },
      ]), // fd00::/8 is left out: no IPv6 frontend of this IPv4-only Service reads it
    );
  });

  it('adds what is new and removes what is gone, and rebuilds its view from map entries', () => {
    const k = (svc: number, cidr: string) => sourceRangeKey(svc, cidr)!;
    const keyed = (...ks: ReturnType<typeof k>[]) => sourceRangesFromMap(ks.map((x) => [x, 1] as const));
    const current = keyed(k(1, '10.0.0.0/8'), k(1, '192.168.0.0/16'));
    const plan = planSourceRanges(current, keyed(k(1, '10.0.0.0/8'), k(2, '10.0.0.0/8')));
    expect(plan.add).toEqual([k(2, '10.0.0.0/8')]);
    expect(plan.remove).toEqual([k(1, '192.168.0.0/16')]);
    const again = planSourceRanges(plan.next, keyed(k(1, '10.0.0.0/8'), k(2, '10.0.0.0/8')));
    expect([...again.add, ...again.remove]).toEqual([]);
  });
});

/** DataplaneMaps that record every write, in order, as "map.op key". */
function recordingMaps(): { maps: DataplaneMaps; log: string[] } {
  const log: string[] = [];
  const fake = (name: string) => ({
    entries: () => [],
    get: () => undefined,
    setMany: (es: ReadonlyArray<readonly [unknown, unknown]>) => {
      for (const [k] of es) log.push(`${name}.set ${JSON.stringify(k)}`);
    },
    deleteMany: (ks: readonly unknown[]) => {
      for (const k of ks) log.push(`${name}.delete ${JSON.stringify(k)}`);
    },
    zeroMany: (ks: readonly unknown[]) => {
      for (const k of ks) log.push(`${name}.zero ${JSON.stringify(k)}`);
    },
  });
  const names = [
    'frontends',
    'slots',
    'maglev',
    'backends',
    'conntrack',
    'affinity',
    'stats',
    'serviceInfo',
    'sourceRanges',
    'config',
    'counters',
  ];
  return { maps: Object.fromEntries(names.map((n) => [n, fake(n)])) as unknown as DataplaneMaps, log };
}

describe('the reconciler writes source ranges around the frontends', () => {
  it('ranges in before a frontend is flagged to check them, out only after it no longer is', () => {
    const { maps, log } = recordingMaps();
    const r = new Reconciler(maps, pino({ level: 'silent' }));
    const ids = new IdAllocator();
    const wrap = (o: Obj) => [{ object: o, origin: 't' }];
    const desired = (ranges: string[]) =>
      compile(
        buildModel({ services: wrap(lb('a', ranges)), endpointSlices: [], nodes: [], errors: [] }).model,
        { nodeName: 'node1', nodePortAddresses: [] },
        ids,
      );
    const order = () =>
      log.filter((l) => /^(frontends|sourceRanges)/.test(l)).map((l) => l.replace(/ .*"addr":"([^"]+)".*/, ' $1'));

    r.sync(desired(['203.0.113.0/24']));
    expect(order()).toEqual([
      'sourceRanges.set 203.0.113.0',
      'frontends.set 10.96.5.2',
      'frontends.set 198.51.100.7',
      'frontends.set 198.51.100.7',
    ]);
    log.length = 0;
    r.sync(desired(['192.0.2.0/24']));
    expect(order()).toEqual(['sourceRanges.set 192.0.2.0', 'sourceRanges.delete 203.0.113.0']);
    log.length = 0;
    r.sync(desired([]));
    expect(order()).toEqual([
      'frontends.set 198.51.100.7',
      'frontends.set 198.51.100.7',
      'sourceRanges.delete 192.0.2.0',
    ]);
  });
});

describe('config: the SNAT address and the pod range', () => {
  const NONE = { podNet: '0.0.0.0', podMask: '0.0.0.0' };
  const configOf = (node: Partial<NodeConfig>) =>
    compile(
      buildModel({ services: [], endpointSlices: [], nodes: [], errors: [] }).model,
      { nodeName: 'node1', nodePortAddresses: [], ...node },
      new IdAllocator(),
    ).config;

  it('writes only when it changes; no address means 0.0.0.0 (the data path then uses the frontend)', () => {
    expect(configOf({ snatAddress: '10.250.0.11' })).toEqual({ snatAddr: '10.250.0.11', ...NONE });
    expect(configOf({})).toEqual({ snatAddr: '0.0.0.0', ...NONE });
    const a = { snatAddr: '10.250.0.11', ...NONE };
    expect(planConfig(undefined, a)).toEqual(a);
    expect(planConfig(a, { ...a })).toBeUndefined();
    expect(planConfig(a, { ...a, snatAddr: '10.250.0.12' })).toEqual({ ...a, snatAddr: '10.250.0.12' });
    expect(planConfig(a, { ...a, podNet: '10.244.0.0', podMask: '255.255.0.0' })?.podMask).toBe('255.255.0.0');
  });

  it('takes the first IPv4 pod range of --cluster-cidr, host bits cleared; none (or /0) leaves it unset', () => {
    expect(configOf({ podCidrs: ['fd10::/56', '10.244.7.9/16'] })).toEqual({
      snatAddr: '0.0.0.0',
      podNet: '10.244.0.0',
      podMask: '255.255.0.0',
    });
    expect(configOf({ podCidrs: ['fd10::/56'] })).toEqual({ snatAddr: '0.0.0.0', ...NONE });
    expect(configOf({ podCidrs: ['0.0.0.0/0'] })).toEqual({ snatAddr: '0.0.0.0', ...NONE });
  });
});

describe('config6: the IPv6 SNAT address and the IPv6 pod range', () => {
  const NONE6 = { hairpinAddr: '::', podNet: '::', podMask: '::' };
  const EMPTY = buildModel({ services: [], endpointSlices: [], nodes: [], errors: [] }).model;
  const node = (n: Partial<NodeConfig>): NodeConfig => ({ nodeName: 'node1', nodePortAddresses: [], ...n });
  const config6Of = (n: Partial<NodeConfig>) => compile(EMPTY, node(n), new IdAllocator()).config6;

  it('takes the first IPv6 range of --cluster-cidr as network and mask, host bits cleared', () => {
    const dual = { podCidrs: ['10.244.0.0/16', 'fd00:10:244::7/56'] };
    const want = { snatAddr: '::', ...NONE6, podNet: 'fd00:10:244::', podMask: 'ffff:ffff:ffff:ff00::' };
    expect(config6Of(dual)).toEqual(want);
    // The incremental compile's is the same.
    const inc = new IncrementalCompiler(new IdAllocator());
    inc.full(EMPTY, node({}));
    expect(inc.update(EMPTY, node(dual), []).desired.config6).toEqual(want);
    expect(config6Of({ snatAddress6: 'fd00::5', podCidrs: ['fd00:10:244:8::/61'] })).toEqual({
      snatAddr: 'fd00::5',
      ...NONE6,
      podNet: 'fd00:10:244:8::',
      podMask: 'ffff:ffff:ffff:fff8::',
    });
  });

  it('no IPv6 range (or ::/0) leaves it unset; neither a range nor an address leaves config6 alone', () => {
    expect(config6Of({ snatAddress6: 'fd00::5', podCidrs: ['::/0'] })).toEqual({ snatAddr: 'fd00::5', ...NONE6 });
    expect(config6Of({ snatAddress6: 'fd00::5' })).toEqual({ snatAddr: 'fd00::5', ...NONE6 });
    expect(config6Of({ podCidrs: ['10.244.0.0/16'] })).toBeUndefined();
    expect(config6Of({})).toBeUndefined();
  });

  it('the reconciler writes it when the address or the range changes, and only then', () => {
    const writes: unknown[] = [];
    const { maps } = recordingMaps();
    const r = new Reconciler(
      { ...maps, config6: { set: (_k: number, v: unknown) => writes.push(v) } } as never,
      pino({ level: 'silent' }),
    );
    const sync = (n: Partial<NodeConfig>) => r.sync(compile(EMPTY, node(n), new IdAllocator()));
    sync({ snatAddress6: 'fd00::5' });
    sync({ snatAddress6: 'fd00::5' });
    expect(writes).toEqual([{ snatAddr: 'fd00::5', ...NONE6 }]);
    sync({ snatAddress6: 'fd00::5', podCidrs: ['fd00:10:244::/56'] });
    expect(writes).toHaveLength(2);
    expect(writes[1]).toMatchObject({ podNet: 'fd00:10:244::', podMask: 'ffff:ffff:ffff:ff00::' });
    const a = { snatAddr: 'fd00::5', ...NONE6 };
    expect(planConfig6(a, { ...a })).toBeUndefined();
    expect(planConfig6(a, { ...a, hairpinAddr: 'fd79::1' })).toEqual({ ...a, hairpinAddr: 'fd79::1' });
  });
});
