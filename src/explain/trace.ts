// `switchyard trace`: one synthetic packet through the loaded data path with BPF_PROG_TEST_RUN,
// against the live pinned maps, and what happened to it: the verdict, the rewrite, the backend
// chosen and why (frontend, set, slot, affinity hit or miss, policy), the packet out, decoded.
//
// It must leave no trace: the program writes conntrack (ct_new and conntrack), affinity, frags, stats and counters as for
// a real packet. The state of those maps is taken before the run and put back after it: entries
// the run created are deleted, entries it changed get their old values (per CPU for the counters).
// What the run wrote is read first, as that is how we know the chosen backend and the affinity.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  FE_LOCAL_ONLY,
  FE_SOURCE_RANGES,
  IPPROTO_TCP,
  IPPROTO_UDP,
  SCOPE_EXTERNAL,
  SCOPE_INTERNAL,
  type CtEntry,
} from '../abi/index.js';
import { BpfObject, inNetns, silenceLibbpf, testRun } from '../bpf/index.js';
import { dataplaneMaps, type DataplaneMaps } from '../dataplane/maps.js';
import { buildPacket, parsePacket, type ParsedPacket } from '../net/packet.js';

export interface TraceRequest {
  pinDir: string;
  object: string;
  from: { addr: string; port: number };
  to: { addr: string; port: number };
  proto: 'tcp' | 'udp';
  /** pod: the pods' veth program (from_pod); netdev: the uplink program (from_netdev). */
  device: 'pod' | 'netdev';
  /** Network namespace to run in (the node's), so the program's FIB lookups see its routes. */
  netns?: string;
}

export interface TraceResult {
  program: string;
  verdict: string;
  frontend?: { service: string; svcId: number; setId: number; gen: number; count: number; policy: string[] };
  backend?: { id: number; address: string; slot?: number; affinity: 'hit' | 'miss (entry created)' | 'not used' };
  rewrite: string[];
  packetIn: string;
  packetOut?: string;
  decoded?: ParsedPacket;
  notes: string[];
}

const VERDICTS: Record<number, string> = { 0: 'TC_ACT_OK (pass on)', 2: 'TC_ACT_SHOT (dropped)', 7: 'TC_ACT_REDIRECT' };
// Not ct_reply_src: a slot the run set stays set. The live data path may set the same slot
// meanwhile for a real flow, and clearing it would turn that flow's replies away (bpf/ct.h).
const MUTABLE = ['conntrack', 'ctNew', 'affinity', 'frags', 'stats', 'counters'] as const;
type Mutable = (typeof MUTABLE)[number];

/** Every entry of the maps the program writes, as (encoded key → value) for restore and compare. */
function snapshot(m: DataplaneMaps): Record<Mutable, Map<string, { key: unknown; value: unknown }>> {
  const take = <K, V>(entries: Array<[K, V]>) =>
    new Map(entries.map(([key, value]) => [JSON.stringify(key, big), { key, value }]));
  return {
    conntrack: take(m.conntrack.entries()),
    ctNew: take(m.ctNew.entries()),
    affinity: take(m.affinity.entries()),
    frags: take(m.frags.entries()),
    stats: take(m.stats.entries()),
    counters: take(m.counters.entries()),
  };
}
const big = (_k: string, v: unknown) => (typeof v === 'bigint' ? v.toString() : v);

/** Puts back what the run changed: created entries go, changed ones get their old value. */
function restore(m: DataplaneMaps, before: ReturnType<typeof snapshot>, after: ReturnType<typeof snapshot>): number {
  let n = 0;
  for (const name of MUTABLE) {
    const map = m[name] as unknown as { set(k: unknown, v: unknown): void; delete(k: unknown): boolean };
    const arrayLike = name === 'stats' || name === 'counters'; // array maps: no delete, every key exists
    for (const [k, now] of after[name]) {
      const was = before[name].get(k);
      if (was && JSON.stringify(was.value, big) === JSON.stringify(now.value, big)) continue;
      if (was) map.set(was.key, was.value);
      else if (!arrayLike) map.delete(now.key);
      n++;
    }
  }
  return n;
}

function describePacket(p: ParsedPacket): string {
  const l4 = p.tcp
    ? `TCP ${p.ip.src}:${p.tcp.sport} → ${p.ip.dst}:${p.tcp.dport} ` +
      `[${p.tcp.flags}]${p.tcp.checksumOk ? '' : ' BAD-CSUM'}`
    : p.udp
      ? `UDP ${p.ip.src}:${p.udp.sport} → ${p.ip.dst}:${p.udp.dport}${p.udp.checksumOk ? '' : ' BAD-CSUM'}`
      : p.icmp
        ? `ICMP type ${p.icmp.type} code ${p.icmp.code} ${p.ip.src} → ${p.ip.dst}`
        : `proto ${p.ip.proto} ${p.ip.src} → ${p.ip.dst}`;
  return `${l4}, ttl ${p.ip.ttl}, ${p.eth.src} → ${p.eth.dst}${p.ip.checksumOk ? '' : ', BAD IP CSUM'}`;
}

/** Runs the trace; opens the object with the pinned maps and closes it (pins it made are removed). */
export function trace(req: TraceRequest): TraceResult {
  if (!existsSync(join(req.pinDir, 'frontends')))
    throw new Error(`no Switchyard maps pinned in ${req.pinDir}: is the agent running with --pin-dir ${req.pinDir}?`);
  silenceLibbpf();
  const pinsBefore = new Set(readdirSync(req.pinDir));
  const obj = BpfObject.open(req.object, { pinDir: req.pinDir });
  try {
    return traceWith(obj, dataplaneMaps(obj), req);
  } finally {
    obj.close();
    // A map the object has but the agent never pinned was created by this open: not ours to leave.
    for (const f of readdirSync(req.pinDir)) if (!pinsBefore.has(f)) rmSync(join(req.pinDir, f), { force: true });
  }
}

function traceWith(obj: BpfObject, m: DataplaneMaps, req: TraceRequest): TraceResult {
  const program = req.device === 'pod' ? 'from_pod' : 'from_netdev';
  const proto = req.proto === 'tcp' ? IPPROTO_TCP : IPPROTO_UDP;
  const packet = buildPacket({
    ip: { src: req.from.addr, dst: req.to.addr, ttl: 64, id: 1 },
    ...(req.proto === 'tcp'
      ? { tcp: { sport: req.from.port, dport: req.to.port, flags: 'S' } }
      : { udp: { sport: req.from.port, dport: req.to.port } }),
    ...(req.proto === 'udp' ? { payload: Buffer.from('switchyard trace') } : {}),
  });
  const scope = req.device === 'pod' ? SCOPE_INTERNAL : SCOPE_EXTERNAL;
  const fe = m.frontends.get({ addr: req.to.addr, port: req.to.port, proto, scope });
  const before = snapshot(m);
  const prog = obj.program(program);
  const r = req.netns ? inNetns(req.netns, () => testRun(prog, packet)) : testRun(prog, packet);
  const after = snapshot(m);
  // A new flow's entries go to ct_new until its first reply (bpf/ct.h); an existing one's stay put.
  const created = [
    ...[...after.ctNew].filter(([k]) => !before.ctNew.has(k)),
    ...[...after.conntrack].filter(([k]) => !before.conntrack.has(k)),
  ].map(([, e]) => e.value as CtEntry);
  const affinityNew = [...after.affinity.keys()].some((k) => !before.affinity.has(k));
  const undone = restore(m, before, after);
  const res: TraceResult = {
    program,
    verdict: VERDICTS[r.retval] ?? `verdict ${r.retval}`,
    rewrite: [],
    packetIn: describePacket(parsePacket(packet)),
    notes: [],
  };
  res.notes.push(
    `${undone} map entr${undone === 1 ? 'y written by the run was' : 'ies written by the run were'} put back: ` +
      `no state left`,
  );
  try {
    res.decoded = parsePacket(r.data);
    res.packetOut = describePacket(res.decoded);
    const o = res.decoded;
    const i = parsePacket(packet);
    const op = o.tcp ?? o.udp;
    const ip = i.tcp ?? i.udp;
    if (o.icmp && !i.icmp)
      res.rewrite.push(
        `none: answered with ICMP type ${o.icmp.type} code ${o.icmp.code} back to ${o.ip.dst} (a reject)`,
      );
    else if (o.ip.src !== i.ip.src || op?.sport !== ip?.sport)
      res.rewrite.push(`source ${i.ip.src}:${ip?.sport} → ${o.ip.src}:${op?.sport}`);
    if (!o.icmp && (o.ip.dst !== i.ip.dst || op?.dport !== ip?.dport))
      res.rewrite.push(`destination ${i.ip.dst}:${ip?.dport} → ${o.ip.dst}:${op?.dport}`);
  } catch (err) {
    res.notes.push(`packet out not decoded: ${(err as Error).message}`);
  }
  if (!fe) {
    res.notes.push(
      `no ${scope === SCOPE_INTERNAL ? 'internal' : 'external'} frontend ` +
        `${req.to.addr}:${req.to.port}/${req.proto.toUpperCase()}: not a Service, the packet passes untouched`,
    );
    return res;
  }
  const info = m.serviceInfo.get(fe.svcId);
  res.frontend = {
    service: info?.name ?? `svc#${fe.svcId}`,
    svcId: fe.svcId,
    setId: fe.setId,
    gen: fe.gen,
    count: fe.count,
    policy: [
      fe.flags & FE_LOCAL_ONLY ? 'externalTrafficPolicy Local: local backends only' : '',
      fe.flags & FE_SOURCE_RANGES ? 'loadBalancerSourceRanges checked' : '',
      fe.affinityTimeout ? `ClientIP affinity ${fe.affinityTimeout}s` : '',
    ].filter(Boolean),
  };
  if (fe.count === 0) res.notes.push('the backend set is empty: no ready endpoints, the connection is rejected');
  const ct = created.find((e) => e.backendId !== 0) ?? created[0];
  if (ct) {
    const be = m.backends.get(ct.backendId);
    const slot = m.slots
      .entries()
      .find(([k, id]) => k.setId === fe.setId && k.gen === fe.gen && id === ct.backendId)?.[0].slot;
    res.backend = {
      id: ct.backendId,
      address: be ? `${be.addr}:${be.port}` : '(gone)',
      slot,
      affinity: !fe.affinityTimeout ? 'not used' : affinityNew ? 'miss (entry created)' : 'hit',
    };
  } else if (fe.count > 0 && r.retval !== 2) {
    res.notes.push('no new flow: the packet matched an existing conntrack entry (its backend is kept)');
  }
  return res;
}
