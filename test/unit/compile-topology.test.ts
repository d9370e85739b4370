// Topology-aware routing: kube-proxy's table-driven CategorizeEndpoints cases (pkg/proxy/topology_test.go),
// ported by meaning, through the whole model → compile path.
import { describe, expect, it } from 'vitest';
import { IPPROTO_TCP, SCOPE_EXTERNAL, SCOPE_INTERNAL } from '../../src/abi/index.js';
import { compile, IdAllocator, type DesiredState, type NodeConfig } from '../../src/compile/index.js';
import { buildModel } from '../../src/model/index.js';

type Obj = Record<string, unknown>;
const NODE_ADDR = '172.16.0.12';

interface Ep {
  addr: string;
  node?: string;
  zones?: string[];
  nodes?: string[];
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
}

function endpoint(e: Ep): Obj {
  const hints: Obj = {};
  if (e.zones) hints.forZones = e.zones.map((name) => ({ name }));
  if (e.nodes) hints.forNodes = e.nodes.map((name) => ({ name }));
  const ready = e.ready ?? true;
  return {
    addresses: [e.addr],
    nodeName: e.node ?? 'node-x',
    ...(Object.keys(hints).length ? { hints } : {}),
    conditions: { ready, serving: e.serving ?? ready, terminating: e.terminating ?? false },
  };
}

interface Case {
  name: string;
  spec?: Obj;
  zone?: string;
  /** the zone label on this node's Node object instead of NodeConfig.zone */
  nodeLabel?: string;
  eps: Ep[];
  cluster: string[];
  local?: string[];
}

function run(c: Case): DesiredState {
  const service = {
    kind: 'Service',
    metadata: { name: 'svc' },
    spec: {
      type: 'NodePort',
      clusterIP: '10.96.0.1',
      ports: [{ port: 80, targetPort: 80, nodePort: 30080 }],
      ...c.spec,
    },
  };
  const slice = {
    kind: 'EndpointSlice',
    metadata: { name: 'svc-1', labels: { 'kubernetes.io/service-name': 'svc' } },
    addressType: 'IPv4',
    ports: [{ port: 80 }],
    endpoints: c.eps.map(endpoint),
  };
  const node = {
    kind: 'Node',
    metadata: { name: 'node-a', labels: c.nodeLabel ? { 'topology.kubernetes.io/zone': c.nodeLabel } : {} },
    status: { addresses: [{ type: 'InternalIP', address: NODE_ADDR }] },
  };
  const wrap = (objs: Obj[]) => objs.map((object) => ({ object, origin: 'test.yaml' }));
  const { model, errors } = buildModel({
    services: wrap([service]),
    endpointSlices: wrap([slice]),
    nodes: wrap([node]),
    errors: [],
  });
  expect(errors).toEqual([]);
  const cfg: NodeConfig = { nodeName: 'node-a', nodePortAddresses: [NODE_ADDR] };
  if (c.zone !== undefined) cfg.zone = c.zone;
  return compile(model, cfg, new IdAllocator());
}

function members(d: DesiredState, addr: string, port: number, scope: number): string[] {
  const fe = d.frontends.find(
    (f) => f.key.addr === addr && f.key.port === port && f.key.proto === IPPROTO_TCP && f.key.scope === scope,
  )!;
  return d.sets.get(fe.setId)!.map((id) => d.backends.get(id)!.addr);
}

const CASES: Case[] = [
  {
    name: 'zone hints: only the endpoints hinted for this zone',
    zone: 'zone-a',
    eps: [
      { addr: '10.1.2.3', zones: ['zone-a'] },
      { addr: '10.1.2.4', zones: ['zone-b'] },
      { addr: '10.1.2.5', zones: ['zone-c'] },
      { addr: '10.1.2.6', zones: ['zone-a'] },
    ],
    cluster: ['10.1.2.3', '10.1.2.6'],
  },
  {
    name: "the zone comes from the Node object's topology.kubernetes.io/zone label",
    nodeLabel: 'zone-b',
    eps: [
      { addr: '10.1.2.3', zones: ['zone-a'] },
      { addr: '10.1.2.4', zones: ['zone-b'] },
    ],
    cluster: ['10.1.2.4'],
  },
  {
    name: 'an endpoint may be hinted for several zones',
    zone: 'zone-a',
    eps: [
      { addr: '10.1.2.3', zones: ['zone-b', 'zone-a'] },
      { addr: '10.1.2.4', zones: ['zone-b'] },
    ],
    cluster: ['10.1.2.3'],
  },
  {
    name: 'no zone label on the node: hints ignored',
    eps: [
      { addr: '10.1.2.3', zones: ['zone-a'] },
      { addr: '10.1.2.4', zones: ['zone-b'] },
    ],
    cluster: ['10.1.2.3', '10.1.2.4'],
  },
  {
    name: 'hints for other zones only: all endpoints',
    zone: 'zone-c',
    eps: [
      { addr: '10.1.2.3', zones: ['zone-a'] },
      { addr: '10.1.2.4', zones: ['zone-b'] },
    ],
    cluster: ['10.1.2.3', '10.1.2.4'],
  },
  {
    name: 'partial hints (one ready endpoint without): hints ignored',
    zone: 'zone-a',
    eps: [{ addr: '10.1.2.3', zones: ['zone-a'] }, { addr: '10.1.2.4' }, { addr: '10.1.2.5', zones: ['zone-b'] }],
    cluster: ['10.1.2.3', '10.1.2.4', '10.1.2.5'],
  },
  {
    name: 'a not-ready endpoint without hints does not disable them',
    zone: 'zone-a',
    eps: [
      { addr: '10.1.2.3', zones: ['zone-a'] },
      { addr: '10.1.2.4', ready: false },
      { addr: '10.1.2.5', zones: ['zone-b'] },
    ],
    cluster: ['10.1.2.3'],
  },
  {
    name: 'only a not-ready endpoint is hinted for this zone: all ready ones',
    zone: 'zone-a',
    eps: [
      { addr: '10.1.2.3', zones: ['zone-a'], ready: false },
      { addr: '10.1.2.4', zones: ['zone-b'] },
      { addr: '10.1.2.5', zones: ['zone-b'] },
    ],
    cluster: ['10.1.2.4', '10.1.2.5'],
  },
  {
    name: 'PreferSameNode with a hint for this node: that endpoint only',
    zone: 'zone-a',
    eps: [
      { addr: '10.1.2.3', node: 'node-a', nodes: ['node-a'], zones: ['zone-a'] },
      { addr: '10.1.2.4', node: 'node-b', nodes: ['node-b'], zones: ['zone-a'] },
      { addr: '10.1.2.5', node: 'node-c', nodes: ['node-c'], zones: ['zone-b'] },
    ],
    cluster: ['10.1.2.3'],
  },
  {
    name: 'PreferSameNode without a hint for this node: the zone hints',
    zone: 'zone-a',
    eps: [
      { addr: '10.1.2.4', node: 'node-b', nodes: ['node-b'], zones: ['zone-a'] },
      { addr: '10.1.2.5', node: 'node-c', nodes: ['node-c'], zones: ['zone-b'] },
    ],
    cluster: ['10.1.2.4'],
  },
  {
    name: 'node hints on some endpoints only: the zone hints',
    zone: 'zone-b',
    eps: [
      { addr: '10.1.2.3', node: 'node-a', nodes: ['node-a'], zones: ['zone-a'] },
      { addr: '10.1.2.5', node: 'node-c', zones: ['zone-b'] },
    ],
    cluster: ['10.1.2.5'],
  },
  {
    name: 'no ready endpoint: serving-terminating ones, hints ignored',
    zone: 'zone-a',
    eps: [
      { addr: '10.1.2.3', zones: ['zone-a'], ready: false, serving: true, terminating: true },
      { addr: '10.1.2.4', zones: ['zone-b'], ready: false, serving: true, terminating: true },
      { addr: '10.1.2.5', zones: ['zone-b'], ready: false, serving: false, terminating: true },
    ],
    cluster: ['10.1.2.3', '10.1.2.4'],
  },
  {
    name: 'ready endpoints only in another zone win over terminating ones in this zone',
    zone: 'zone-a',
    eps: [
      { addr: '10.1.2.3', zones: ['zone-a'], ready: false, serving: true, terminating: true },
      { addr: '10.1.2.4', zones: ['zone-b'] },
    ],
    cluster: ['10.1.2.4'],
  },
  {
    name: 'internalTrafficPolicy Local: the local set, hints play no part',
    zone: 'zone-b',
    spec: { internalTrafficPolicy: 'Local' },
    eps: [
      { addr: '10.1.2.3', node: 'node-a', zones: ['zone-a'] },
      { addr: '10.1.2.4', node: 'node-b', zones: ['zone-b'] },
    ],
    cluster: ['10.1.2.3'],
  },
  {
    name: 'externalTrafficPolicy Local: external → local endpoints, internal → hinted endpoints',
    zone: 'zone-b',
    spec: { externalTrafficPolicy: 'Local' },
    eps: [
      { addr: '10.1.2.3', node: 'node-a', zones: ['zone-a'] },
      { addr: '10.1.2.4', node: 'node-b', zones: ['zone-b'] },
    ],
    cluster: ['10.1.2.4'],
    local: ['10.1.2.3'],
  },
  {
    name: 'publishNotReadyAddresses: every endpoint counts as ready, hints too',
    zone: 'zone-a',
    spec: { publishNotReadyAddresses: true },
    eps: [
      { addr: '10.1.2.3', zones: ['zone-a'], ready: false },
      { addr: '10.1.2.4', zones: ['zone-b'] },
    ],
    cluster: ['10.1.2.3'],
  },
];

describe('compile: topology hints (kube-proxy CategorizeEndpoints)', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const d = run(c);
      expect(members(d, '10.96.0.1', 80, SCOPE_INTERNAL)).toEqual(c.cluster);
      // NodePort from outside: the cluster set too, unless externalTrafficPolicy is Local.
      expect(members(d, NODE_ADDR, 30080, SCOPE_EXTERNAL)).toEqual(
        c.local ?? (c.spec?.internalTrafficPolicy ? members(d, NODE_ADDR, 30080, SCOPE_INTERNAL) : c.cluster),
      );
    });
  }

  it('rejects a malformed hint, naming the field', () => {
    const slice = {
      kind: 'EndpointSlice',
      metadata: { name: 's', labels: { 'kubernetes.io/service-name': 'svc' } },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['10.1.2.3'], hints: { forZones: [{ name: 7 }] } }],
    };
    const { errors } = buildModel({
      services: [],
      endpointSlices: [{ object: slice, origin: 'x.yaml' }],
      nodes: [],
      errors: [],
    });
    expect(errors.map((e) => e.describe())).toEqual([
      expect.stringContaining('endpoints[0].hints.forZones[0].name: must be a string'),
    ]);
  });
});
