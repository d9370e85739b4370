// Random cluster churn for the incremental-sync property tests: seeded sequences of Service and
// EndpointSlice adds, edits and deletes drawn from small pools, so that cluster IPs, node ports and
// external IPs collide (contested frontends), endpoints move between nodes and sets shrink.
import type { IdAllocator } from '../../src/compile/index.js';
import { slotKeyOf, type CurrentState } from '../../src/dataplane/plan.js';
import type { ObjectChange } from '../../src/model/tracker.js';

type Obj = Record<string, unknown>;

/** mulberry32: small, seedable, good enough to pick from pools. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface ChurnOptions {
  services: number;
  /** Pools are this much smaller than the service count: collisions become likely. */
  contested: boolean;
  /** Dual-stack objects too: about half the Services get an IPv6 cluster IP (PreferDualStack),
   *  IPv6 external and LB addresses and ranges appear, and each Service's second slice is IPv6.
   *  Off, the sequences are those of the seeds written before IPv6. */
  dualStack?: boolean;
  /** About a third of the Services use Maglev (the lb-algorithm annotation). Off, the sequences
   *  are those of the seeds written before. */
  maglev?: boolean;
}

export class Churn {
  readonly objects = new Map<string, Obj>(); // "kind ns/name" → object
  private readonly pick: <T>(xs: readonly T[]) => T;

  constructor(
    private readonly r: () => number,
    private readonly opts: ChurnOptions,
  ) {
    this.pick = (xs) => xs[Math.floor(r() * xs.length)];
  }

  /** One random add, edit or delete; returns the change as a source reports it. */
  step(): ObjectChange {
    const n = Math.floor(this.r() * this.opts.services);
    const name = `svc${n}`;
    const isSlice = this.r() < 0.6;
    const sliceName = `${name}-${Math.floor(this.r() * 2)}`;
    const kind = isSlice ? 'endpointSlices' : 'services';
    const key = `default/${isSlice ? sliceName : name}`;
    const mapKey = `${kind} ${key}`;
    if (this.objects.has(mapKey) && this.r() < 0.2) this.objects.delete(mapKey);
    else this.objects.set(mapKey, isSlice ? this.slice(name, sliceName) : this.service(name, n));
    return { kind, key };
  }

  /** The current objects as a Snapshot. */
  snapshot() {
    const of = (kind: string) =>
      [...this.objects].filter(([k]) => k.startsWith(`${kind} `)).map(([, object]) => ({ object, origin: 'churn' }));
    return { services: of('services'), endpointSlices: of('endpointSlices'), nodes: [], errors: [] };
  }

  get(change: ObjectChange): Obj | undefined {
    return this.objects.get(`${change.kind} ${change.key}`);
  }

  private service(name: string, n: number): Obj {
    const { pick, r } = this;
    const wide = this.opts.contested ? 4 : 1000;
    const type = pick(['ClusterIP', 'ClusterIP', 'NodePort', 'LoadBalancer'] as const);
    const clusterIP = this.opts.contested ? `10.96.0.${1 + Math.floor(r() * wide)}` : `10.96.${n >> 8}.${n & 255}`;
    const ports = [
      {
        name: 'http',
        port: pick([80, 8080]),
        targetPort: pick([8080, 'web']),
        ...(type !== 'ClusterIP' ? { nodePort: 30000 + (this.opts.contested ? Math.floor(r() * wide) : n) } : {}),
      },
    ];
    if (r() < 0.4) ports.push({ name: 'dns', port: 53, targetPort: 53, protocol: 'UDP' } as never);
    const six = this.opts.dualStack === true;
    const ext = this.opts.contested ? ['192.0.2.1', '192.0.2.2', '10.250.0.11'] : [`192.0.2.${n & 255}`];
    if (six) ext.push(this.opts.contested ? pick(['2001:db8::1', '2001:db8::2']) : `2001:db8::${n.toString(16)}`);
    const v6 = this.opts.contested ? `fd00::${1 + Math.floor(r() * wide)}` : `fd00::${n.toString(16)}`;
    const dual = six && r() < 0.5 ? { clusterIPs: [clusterIP, v6], ipFamilyPolicy: 'PreferDualStack' } : {};
    const ranges = ['203.0.113.0/24', '198.51.100.0/25', ...(six ? ['2001:db8::/64'] : [])];
    return {
      kind: 'Service',
      metadata: {
        name,
        namespace: 'default',
        ...(r() < 0.7 ? { creationTimestamp: new Date(1e12 + Math.floor(r() * 5) * 1000).toISOString() } : {}),
        ...(this.opts.maglev && r() < 0.35 ? { annotations: { 'switchyard.io/lb-algorithm': 'maglev' } } : {}),
      },
      spec: {
        type,
        clusterIP,
        ...dual,
        ports,
        ...(r() < 0.3 ? { externalIPs: [pick(ext)] } : {}),
        ...(r() < 0.3 ? { sessionAffinity: 'ClientIP' } : {}),
        ...(type !== 'ClusterIP' && r() < 0.4
          ? { externalTrafficPolicy: 'Local', healthCheckNodePort: 32000 + n }
          : {}),
        ...(r() < 0.2 ? { internalTrafficPolicy: 'Local' } : {}),
        ...(type === 'LoadBalancer' && r() < 0.5 ? { loadBalancerSourceRanges: [pick(ranges)] } : {}),
      },
      ...(type === 'LoadBalancer' ? { status: { loadBalancer: { ingress: [{ ip: pick(ext) }] } } } : {}),
    };
  }

  private slice(svc: string, name: string): Obj {
    const { pick, r } = this;
    const count = Math.floor(r() * 5);
    const v6 = this.opts.dualStack === true && name.endsWith('-1');
    const endpoints = Array.from({ length: count }, () => ({
      addresses: [
        v6
          ? `fd10:${Math.floor(r() * 2)}::${1 + Math.floor(r() * 6)}`
          : `10.244.${Math.floor(r() * 2)}.${1 + Math.floor(r() * 6)}`,
      ],
      conditions: { ready: r() < 0.8, serving: r() < 0.9, terminating: r() < 0.2 },
      nodeName: pick(['node1', 'node2']),
    }));
    return {
      kind: 'EndpointSlice',
      addressType: v6 ? 'IPv6' : 'IPv4',
      metadata: { name, namespace: 'default', labels: { 'kubernetes.io/service-name': svc } },
      ports: [
        { name: pick(['http', 'web']), port: 8080 },
        { name: 'dns', port: 53, protocol: 'UDP' },
      ],
      endpoints,
    };
  }
}

/** A map state as identity-keyed lines, so two allocators' ids compare (and gens, unless dropped). */
export function normalize(state: CurrentState, ids: IdAllocator, gens = true): Record<string, string[]> {
  const svc = (id: number) => ids.identityOf('svc', id) ?? `?svc ${id}`;
  const set = (id: number) => ids.identityOf('set', id) ?? `?set ${id}`;
  const be = (id: number) => ids.identityOf('backend', id) ?? `?backend ${id}`;
  const g = (gen: number) => (gens ? ` gen ${gen}` : '');
  const sorted = (xs: string[]) => xs.sort();
  return {
    frontends: sorted(
      [...state.frontends].map(
        ([ks, { value: v }]) =>
          `${ks} → ${svc(v.svcId)} ${set(v.setId)} count ${v.count}${g(v.gen)} affinity ${v.affinityTimeout} flags ${v.flags}`,
      ),
    ),
    sets: sorted(
      [...state.sets].map(
        ([id, s]) => `${set(id)}${g(s.gen)}${s.maglev ? ' maglev' : ''}: ${s.members.map(be).join(' ')}`,
      ),
    ),
    slots: sorted([...state.slotKeys].map(slotKeyOf).map((k) => `${set(k.setId)}${g(k.gen)} #${k.slot}`)),
    maglev: sorted([...state.maglevKeys].map(slotKeyOf).map((k) => `${set(k.setId)}${g(k.gen)} #${k.slot}`)),
    backends: sorted([...state.backends].map(([id, b]) => `${be(id)} → ${b.addr}:${b.port} ${b.flags}`)),
    sourceRanges: sorted([...state.sourceRanges.values()].map((k) => `${svc(k.svcId)} ${k.addr}/${k.prefixlen}`)),
    serviceInfo: sorted([...state.serviceInfo].map(([id, i]) => `${svc(id)} ${i.name} ${i.type}`)),
  };
}
