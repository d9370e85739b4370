// What `switchyard inspect` shows, computed from raw map contents. Pure: the CLI reads the
// pinned maps and hands them here, so the views are tested without a kernel.
import { addrPort } from '../net/ipv6.js';
import {
  CT_CLOSING,
  CT_FIN_FORWARD,
  CT_FIN_REPLY,
  CT_FORWARD,
  CT_HAIRPIN,
  CT_SEEN_REPLY,
  FE_LOCAL_ONLY,
  FE_MAGLEV,
  FE_NODEPORT,
  IPPROTO_TCP,
  SCOPE_EXTERNAL,
  BE_LOCAL,
  type Affinity,
  type AffinityKey,
  type Backend,
  type CtEntry,
  type CtKey,
  type Frontend,
  type FrontendKey,
  type SlotKey,
  type Stats,
} from '../abi/index.js';

/** Who a svc_id is, for display: the service_info entry with its type spelled out. */
export interface ServiceIdentity {
  name: string;
  type: string;
}

export interface MapContents {
  frontends: Array<[FrontendKey, Frontend]>;
  slots: Array<[SlotKey, number]>;
  /** Maglev lookup tables (absent: pins from before the maglev map, or none read). */
  maglev?: Array<[SlotKey, number]>;
  backends: Array<[number, Backend]>;
  conntrack: Array<[CtKey, CtEntry]>;
  affinity: Array<[AffinityKey, Affinity]>;
  stats: Map<number, Stats>;
  services: Map<number, ServiceIdentity>;
  nowNs: bigint;
}

const proto = (p: number) => (p === IPPROTO_TCP ? 'TCP' : p === 17 ? 'UDP' : String(p));
/** No rewrite of this address: zero in either family. */
const unset = (addr: string) => addr === '0.0.0.0' || addr === '::';
/** "10.0.0.1:80", "[2001:db8::1]:80" (RFC 5952). */
const hostPort = addrPort;
const seconds = (ns: bigint) => Number(ns / 1_000_000n) / 1000;
/** How long ago @stamp was, never negative: right after boot, or another CPU's later stamp. */
const ageOf = (nowNs: bigint, stamp: bigint) => (stamp > nowNs ? 0 : seconds(nowNs - stamp));
/** A stamp more than a second ahead counts as expired, as in the data path (bpf/clock.h). */
const fromFuture = (nowNs: bigint, stamp: bigint) => stamp > nowNs + 1_000_000_000n;

export interface ServiceRow {
  svcId: number;
  service: string;
  type: string;
  frontends: string[];
  backends: Array<{ id: number; address: string; local: boolean }>;
  affinityTimeoutSeconds: number;
  packets: number;
  bytes: number;
  newConnections: number;
  noEndpointRejects: number;
}

/** The backends a frontend's set holds: its slots, or the distinct entries of its Maglev table. */
function setMembers(m: MapContents, fe: Frontend): number[] {
  const maglev = (fe.flags & FE_MAGLEV) !== 0;
  const entries = (maglev ? (m.maglev ?? []) : m.slots).filter(([k]) => k.setId === fe.setId && k.gen === fe.gen);
  const bySlot = new Map(entries.map(([k, id]) => [k.slot, id]));
  const ids = Array.from({ length: fe.count }, (_, i) => bySlot.get(i + 1)).filter(
    (id): id is number => id !== undefined,
  );
  return maglev ? [...new Set(ids)].sort((a, b) => a - b) : ids;
}

export function servicesView(m: MapContents): ServiceRow[] {
  const backends = new Map(m.backends);
  const rows = new Map<number, ServiceRow>();
  for (const [key, fe] of m.frontends) {
    let row = rows.get(fe.svcId);
    if (!row) {
      const info = m.services.get(fe.svcId);
      const st = m.stats.get(fe.svcId);
      row = {
        svcId: fe.svcId,
        service: info?.name ?? `svc#${fe.svcId}`,
        type: info?.type ?? (fe.flags & FE_NODEPORT ? 'NodePort' : 'ClusterIP'),
        frontends: [],
        backends: [],
        affinityTimeoutSeconds: fe.affinityTimeout,
        packets: Number(st?.packets ?? 0n),
        bytes: Number(st?.bytes ?? 0n),
        newConnections: Number(st?.newFlows ?? 0n),
        noEndpointRejects: Number(st?.noBackend ?? 0n),
      };
      rows.set(fe.svcId, row);
    }
    // One address answers in two scopes (from pods, from outside); show it once, and say so only
    // when outside traffic is held to local endpoints (externalTrafficPolicy: Local).
    const text = `${hostPort(key.addr, key.port)}/${proto(key.proto)}`;
    const local = key.scope === SCOPE_EXTERNAL && (fe.flags & FE_LOCAL_ONLY) !== 0;
    const at = row.frontends.findIndex((f) => f.startsWith(text));
    if (at < 0) row.frontends.push(local ? `${text} (Local)` : text);
    else if (local) row.frontends[at] = `${text} (Local)`;
    for (const id of setMembers(m, fe)) {
      if (row.backends.some((b) => b.id === id)) continue;
      const be = backends.get(id);
      if (be) row.backends.push({ id, address: hostPort(be.addr, be.port), local: (be.flags & BE_LOCAL) !== 0 });
    }
  }
  return [...rows.values()].sort((a, b) => a.service.localeCompare(b.service) || a.svcId - b.svcId);
}

export interface BackendRow {
  id: number;
  address: string;
  local: boolean;
  services: string[];
  state: string;
}

export function backendsView(m: MapContents): BackendRow[] {
  const svcOfSet = new Map<number, number>();
  const inUse = new Set<number>();
  for (const [, fe] of m.frontends) {
    svcOfSet.set(fe.setId, fe.svcId);
    for (const id of setMembers(m, fe)) inUse.add(id);
  }
  const servicesOf = new Map<number, Set<string>>();
  for (const [k, id] of [...m.slots, ...(m.maglev ?? [])]) {
    const svc = svcOfSet.get(k.setId);
    if (svc === undefined) continue;
    const names = servicesOf.get(id) ?? new Set<string>();
    names.add(m.services.get(svc)?.name ?? `svc#${svc}`);
    servicesOf.set(id, names);
  }
  return m.backends
    .map(([id, be]) => ({
      id,
      address: hostPort(be.addr, be.port),
      local: (be.flags & BE_LOCAL) !== 0,
      services: [...(servicesOf.get(id) ?? [])].sort(),
      state: inUse.has(id) ? 'active' : 'draining',
    }))
    .sort((a, b) => a.id - b.id);
}

export interface ConntrackRow {
  protocol: string;
  direction: string;
  tuple: string;
  translation: string;
  service: string;
  backendId: number;
  ageSeconds: number;
  flags: string[];
}

export function conntrackView(m: MapContents): ConntrackRow[] {
  return m.conntrack
    .map(([k, e]) => {
      const rewritten = [
        !unset(e.nat.saddr) || e.nat.sport ? `src→${hostPort(e.nat.saddr, e.nat.sport)}` : '',
        !unset(e.nat.daddr) || e.nat.dport ? `dst→${hostPort(e.nat.daddr, e.nat.dport)}` : '',
      ]
        .filter(Boolean)
        .join(' ');
      const halfClosed = !(e.flags & CT_CLOSING) && (e.flags & (CT_FIN_FORWARD | CT_FIN_REPLY)) !== 0;
      const flags = [
        e.flags & CT_SEEN_REPLY ? 'replied' : '',
        halfClosed ? 'half-closed' : '',
        e.flags & CT_CLOSING ? 'closing' : '',
        e.flags & CT_HAIRPIN ? 'hairpin' : '',
      ].filter(Boolean);
      return {
        protocol: proto(k.proto),
        direction: k.dir === CT_FORWARD ? 'forward' : 'reply',
        tuple: `${hostPort(k.saddr, k.sport)} → ${hostPort(k.daddr, k.dport)}`,
        translation: rewritten,
        service: m.services.get(e.svcId)?.name ?? `svc#${e.svcId}`,
        backendId: e.backendId,
        ageSeconds: ageOf(m.nowNs, e.lastSeenNs),
        flags,
      };
    })
    .sort((a, b) => a.ageSeconds - b.ageSeconds);
}

export interface AffinityRow {
  service: string;
  client: string;
  backend: string;
  backendId: number;
  secondsLeft: number;
  expired: boolean;
}

export function affinityView(m: MapContents): AffinityRow[] {
  const setInfo = new Map<number, { svcId: number; timeout: number }>();
  for (const [, fe] of m.frontends) setInfo.set(fe.setId, { svcId: fe.svcId, timeout: fe.affinityTimeout });
  const backends = new Map(m.backends);
  return m.affinity
    .map(([k, a]) => {
      const info = setInfo.get(k.setId);
      const be = backends.get(a.backendId);
      const left = fromFuture(m.nowNs, a.lastUsedNs) ? 0 : (info?.timeout ?? 0) - ageOf(m.nowNs, a.lastUsedNs);
      return {
        service: info ? (m.services.get(info.svcId)?.name ?? `svc#${info.svcId}`) : `set#${k.setId} (gone)`,
        client: k.clientAddr,
        backend: be ? hostPort(be.addr, be.port) : '(gone)',
        backendId: a.backendId,
        secondsLeft: Math.max(0, Math.round(left)),
        expired: left <= 0 || !be,
      };
    })
    .sort((a, b) => a.service.localeCompare(b.service) || a.client.localeCompare(b.client));
}
