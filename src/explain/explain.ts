// `switchyard explain SERVICE[:PORT]`: everything the data path holds for one Service port, one
// screen each — frontends by scope, the backend set (id, generation, members in slot order), each
// backend's state, affinity entries, live flows, counters — and drift: entries the data path would
// follow but cannot (a slot the frontend counts that is gone, a slot naming a missing backend,
// frontends of one port that disagree). Pure over the map contents (inspect/views.ts), so it works
// from the pins alone, with the agent stopped, and is tested without a kernel.
import { BE_LOCAL, FE_LOCAL_ONLY, FE_NODEPORT, FE_SOURCE_RANGES, SCOPE_EXTERNAL } from '../abi/index.js';
import { addrPort } from '../net/ipv6.js';
import {
  affinityView,
  conntrackView,
  type AffinityRow,
  type ConntrackRow,
  type MapContents,
} from '../inspect/views.js';

export interface ExplainedFrontend {
  address: string;
  protocol: string;
  scope: 'internal' | 'external';
  flags: string[];
  setId: number;
  gen: number;
  count: number;
}
export interface ExplainedSlot {
  slot: number;
  backendId?: number;
  backend?: string;
  local?: boolean;
}
export interface ExplainedBackend {
  id: number;
  address: string;
  node: 'local' | 'remote';
  state: 'active' | 'draining';
}
export interface Explained {
  service: string;
  svcId: number;
  type: string;
  frontends: ExplainedFrontend[];
  set: { id: number; gen: number; count: number; slots: ExplainedSlot[] };
  backends: ExplainedBackend[];
  affinityTimeoutSeconds: number;
  affinity: AffinityRow[];
  flows: ConntrackRow[];
  counters: { packets: number; bytes: number; newConnections: number; noEndpointRejects: number };
  /** What is wrong in the maps; empty when they are consistent. */
  drift: string[];
}

const PROTO: Record<number, string> = { 6: 'TCP', 17: 'UDP' };

/** Does a service_info name ("ns/name:port/PROTO") match what the user typed: name, ns/name, either with :PORT. */
export function matches(infoName: string, query: string): boolean {
  const m = /^([^/]+)\/([^:]+):([^/]+)\/(\w+)$/.exec(infoName);
  if (!m) return false;
  const [, ns, name, port] = m;
  const q = /^(?:([^/]+)\/)?([^:]+)(?::(.+))?$/.exec(query);
  if (!q) return false;
  const [, qns, qname, qport] = q;
  return name === qname && (!qns || qns === ns) && (!qport || qport === port);
}

function frontendFlags(flags: number): string[] {
  return [
    flags & FE_NODEPORT ? 'nodeport' : '',
    flags & FE_LOCAL_ONLY ? 'local-only' : '',
    flags & FE_SOURCE_RANGES ? 'source-ranges' : '',
  ].filter(Boolean);
}

/** One Explained per service port whose name matches `query`, by svc id. Ports found only by a
 *  frontend's number also match (`web:8080` when the port is named). */
export function explain(m: MapContents, query: string): Explained[] {
  const ids = new Set<number>();
  for (const [id, info] of m.services) if (matches(info.name, query)) ids.add(id);
  const portQuery = /:(\d+)$/.exec(query)?.[1];
  if (portQuery) {
    const base = query.replace(/:\d+$/, '');
    for (const [k, fe] of m.frontends) {
      const info = m.services.get(fe.svcId);
      if (info && k.port === Number(portQuery) && matches(info.name, base)) ids.add(fe.svcId);
    }
  }
  return [...ids].sort((a, b) => a - b).map((id) => explainOne(m, id));
}

// biome-ignore lint/complexity/noExcessiveLinesPerFunction: one service port's screen, assembled in the order it prints
function explainOne(m: MapContents, svcId: number): Explained {
  const info = m.services.get(svcId);
  const fes = m.frontends.filter(([, fe]) => fe.svcId === svcId);
  const drift: string[] = [];
  const frontends = fes.map(
    ([k, fe]): ExplainedFrontend => ({
      address: addrPort(k.addr, k.port),
      protocol: PROTO[k.proto] ?? String(k.proto),
      scope: k.scope === SCOPE_EXTERNAL ? 'external' : 'internal',
      flags: frontendFlags(fe.flags),
      setId: fe.setId,
      gen: fe.gen,
      count: fe.count,
    }),
  );
  const head = fes[0]?.[1];
  // Frontends of one family read one set; a dual-stack port's IPv6 frontends read their own.
  const heads = new Map<boolean, (typeof fes)[number][1]>();
  for (const [k, fe] of fes) if (!heads.has(k.addr.includes(':'))) heads.set(k.addr.includes(':'), fe);
  frontends.forEach((f, i) => {
    const h = heads.get(fes[i]![0].addr.includes(':'))!;
    if (f.setId !== h.setId || f.gen !== h.gen || f.count !== h.count) {
      drift.push(
        `frontend ${f.address}/${f.protocol} (${f.scope}) points at set ${f.setId} gen ${f.gen} count ` +
          `${f.count}, the others at set ${h.setId} gen ${h.gen} count ${h.count}`,
      );
    }
  });
  const backends = new Map(m.backends);
  const setId = head?.setId ?? 0;
  const gen = head?.gen ?? 0;
  const count = head?.count ?? 0;
  const slotMap = new Map(m.slots.filter(([k]) => k.setId === setId && k.gen === gen).map(([k, id]) => [k.slot, id]));
  const slots: ExplainedSlot[] = [];
  for (let i = 1; i <= count; i++) {
    const id = slotMap.get(i);
    const be = id === undefined ? undefined : backends.get(id);
    if (id === undefined)
      drift.push(
        `slot ${i} of set ${setId} gen ${gen} is missing: the frontend counts ${count} members, so ~1/${count} ` +
          `of new connections find no backend and are dropped`,
      );
    else if (!be)
      drift.push(
        `slot ${i} of set ${setId} gen ${gen} names backend ${id}, which is not in the backends map: those ` +
          `connections are dropped`,
      );
    slots.push({
      slot: i,
      backendId: id,
      ...(be ? { backend: addrPort(be.addr, be.port), local: (be.flags & BE_LOCAL) !== 0 } : {}),
    });
  }
  for (const [k] of m.slots) {
    if (k.setId === setId && k.gen === gen && k.slot > count)
      drift.push(
        `slot ${k.slot} of set ${setId} gen ${gen} is beyond the frontend's count ${count} (a leftover; ` +
          `harmless but unexpected)`,
      );
  }
  if (!info) drift.push(`svc id ${svcId} has no service_info entry (its name is unknown to inspect)`);
  // The agent writes service_info after a port's frontends and deletes it after them: never alone.
  if (!fes.length) drift.push(`no frontend names svc id ${svcId}: the service port answers on no address`);
  // Backends of this set in any generation: the current ones are active; older ones drain (their flows finish).
  const inSet = new Map<number, 'active' | 'draining'>();
  for (const [k, id] of m.slots)
    if (k.setId === setId) inSet.set(id, k.gen === gen ? 'active' : (inSet.get(id) ?? 'draining'));
  for (const s of slots) if (s.backendId !== undefined) inSet.set(s.backendId, 'active');
  const name = info?.name ?? `svc#${svcId}`;
  const st = m.stats.get(svcId);
  return {
    service: name,
    svcId,
    type: info?.type ?? 'ClusterIP',
    frontends,
    set: { id: setId, gen, count, slots },
    backends: [...inSet]
      .filter(([id]) => backends.has(id))
      .map(([id, state]) => {
        const be = backends.get(id)!;
        return {
          id,
          address: addrPort(be.addr, be.port),
          node: (be.flags & BE_LOCAL) !== 0 ? ('local' as const) : ('remote' as const),
          state,
        };
      })
      .sort((a, b) => a.id - b.id),
    affinityTimeoutSeconds: head?.affinityTimeout ?? 0,
    affinity: affinityView(m).filter((a) => a.service === name),
    flows: conntrackView(m).filter((c) => c.service === name),
    counters: {
      packets: Number(st?.packets ?? 0n),
      bytes: Number(st?.bytes ?? 0n),
      newConnections: Number(st?.newFlows ?? 0n),
      noEndpointRejects: Number(st?.noBackend ?? 0n),
    },
    drift,
  };
}
