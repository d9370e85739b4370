// Every agent-written map as readable lines, one per entry, for golden dumps and plan
// assertions, in the manner of Cilium's lbmaps.dump. The same text describes an entry whether
// it was read back from a kernel map or planned in userspace, so a planned phase and a dumped map
// read alike:
//   frontend 10.96.0.10:80/TCP internal → svc 1 set 1 count 2 gen 0 affinity 0 flags -
//   slot set 1 gen 0 #1 → backend 1
//   backend 1 → 10.244.1.11:8080 flags local
//   source_range svc 3 203.0.113.0/24
//   service_info 1 → default/web:http/TCP LoadBalancer
//   config 0 → snat 10.250.0.11
import { addrPort } from '../../src/net/ipv6.js';
import {
  BE_LOCAL,
  FE_LOCAL_ONLY,
  FE_NODEPORT,
  FE_MAGLEV,
  FE_SOURCE_RANGES,
  IPPROTO_TCP,
  IPPROTO_UDP,
  SCOPE_EXTERNAL,
  SERVICE_TYPE_NAMES,
  type Backend,
  type Config,
  type Frontend,
  type FrontendKey,
  type ServiceInfo,
  type SlotKey,
  type SourceRangeKey,
} from '../../src/abi/index.js';
import type { DataplaneMaps } from '../../src/dataplane/maps.js';
import type { Phase, PlannedMaps } from '../../src/dataplane/phases.js';
import { slotRunEntries } from '../../src/dataplane/slot-runs.js';

type Formatter<M extends keyof PlannedMaps> = {
  key(k: PlannedMaps[M][0]): string;
  value(v: PlannedMaps[M][1]): string;
};

function flagNames(flags: number, names: Array<[number, string]>): string {
  const set = names.filter(([bit]) => flags & bit).map(([, name]) => name);
  const unknown = names.reduce((rest, [bit]) => rest & ~bit, flags);
  if (unknown) set.push(`0x${unknown.toString(16)}`);
  return set.length ? set.join(',') : '-';
}

const protoName = (p: number) => (p === IPPROTO_TCP ? 'TCP' : p === IPPROTO_UDP ? 'UDP' : `proto${p}`);

const FORMAT: { [M in keyof PlannedMaps]: Formatter<M> } = {
  config: {
    key: (k: number) => `config ${k}`,
    value: (v: Config) => `snat ${v.snatAddr}`,
  },
  backends: {
    key: (id: number) => `backend ${id}`,
    value: (b: Backend) => `${addrPort(b.addr, b.port)} flags ${flagNames(b.flags, [[BE_LOCAL, 'local']])}`,
  },
  slots: {
    key: (k: SlotKey) => `slot set ${k.setId} gen ${k.gen} #${k.slot}`,
    value: (backendId: number) => `backend ${backendId}`,
  },
  maglev: {
    key: (k: SlotKey) => `maglev set ${k.setId} gen ${k.gen} #${k.slot}`,
    value: (backendId: number) => `backend ${backendId}`,
  },
  sourceRanges: {
    key: (k: SourceRangeKey) => `source_range svc ${k.svcId} ${k.addr}/${k.prefixlen - 32}`,
    // The LPM trie's value is always 1; only a wrong one is worth a word.
    value: (v: number) => (v === 1 ? '' : `value ${v}`),
  },
  frontends: {
    key: (k: FrontendKey) =>
      `frontend ${addrPort(k.addr, k.port)}/${protoName(k.proto)} ${k.scope === SCOPE_EXTERNAL ? 'external' : 'internal'}`,
    value: (f: Frontend) =>
      `svc ${f.svcId} set ${f.setId} count ${f.count} gen ${f.gen} affinity ${f.affinityTimeout} flags ` +
      flagNames(f.flags, [
        [FE_NODEPORT, 'nodeport'],
        [FE_LOCAL_ONLY, 'local-only'],
        [FE_SOURCE_RANGES, 'source-ranges'],
        [FE_MAGLEV, 'maglev'],
      ]),
  },
  serviceInfo: {
    key: (id: number) => `service_info ${id}`,
    value: (i: ServiceInfo) => `${i.name} ${SERVICE_TYPE_NAMES[i.type] ?? `type${i.type}`}`,
  },
};

/** One entry of one map as a line. */
export function entryLine<M extends keyof PlannedMaps>(
  map: M,
  key: PlannedMaps[M][0],
  value: PlannedMaps[M][1],
): string {
  const f = FORMAT[map] as Formatter<M>;
  const v = f.value(value);
  return v ? `${f.key(key)} → ${v}` : f.key(key);
}

export function keyLine<M extends keyof PlannedMaps>(map: M, key: PlannedMaps[M][0]): string {
  return (FORMAT[map] as Formatter<M>).key(key);
}

/** A plan phase as its header ("set backends") followed by one line per entry or key. */
export function phaseLines(phase: Phase): string[] {
  if (phase.op === 'prune') {
    const sets = [...phase.members].map(([setId, ids]) => `set ${setId} keeps ${[...ids].join(',') || '-'}`);
    return ['prune affinity', ...sets];
  }
  if (phase.op === 'reset') return ['reset stats', ...phase.keys.map((id) => `stats ${id} → 0`)];
  if (phase.op === 'destroy')
    return ['destroy sockets', ...phase.endpoints.map((e) => `udp connected to ${e.addr}:${e.port}`)];
  // A slots phase's runs, as the entries they write (the header says write: one run per set).
  if (phase.op === 'write' && phase.map === 'backends')
    return ['write backends', ...phase.ids.map((id) => entryLine('backends', id, phase.from.get(id)!))];
  if (phase.op === 'write')
    return [`write ${phase.map}`, ...slotRunEntries(phase.runs).map(([k, v]) => entryLine(phase.map, k, v))];
  const lines =
    phase.op === 'set'
      ? phase.entries.map(([k, v]) => entryLine(phase.map, k as never, v as never))
      : phase.keys.map((k) => keyLine(phase.map, k as never));
  return [`${phase.op} ${phase.map}`, ...lines];
}

/** Numbers inside the lines compare as numbers: backend 2 before backend 10, 10.0.0.9 before 10.0.0.10. */
const byLine = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });

/** The map names in dump order: the order a packet meets them. */
const DUMP_ORDER: Array<keyof PlannedMaps> = [
  'frontends',
  'slots',
  'maglev',
  'backends',
  'sourceRanges',
  'config',
  'serviceInfo',
];

/** Every agent-written map of the object, sorted within each map; ends with a newline. */
export function dumpMaps(maps: DataplaneMaps): string {
  const lines: string[] = [];
  for (const name of DUMP_ORDER) {
    const entries =
      name === 'config'
        ? [[0, maps.config.get(0)] as const].filter(([, v]) => v !== undefined)
        : (maps[name].entries() as Array<readonly [unknown, unknown]>);
    lines.push(...entries.map(([k, v]) => entryLine(name, k as never, v as never)).sort(byLine));
    // config6[0] (the IPv6 SNAT address), after config, once something wrote it.
    const c6 = name === 'config' ? maps.config6?.get(0) : undefined;
    if (c6 && c6.snatAddr !== '::') lines.push(`config6 0 → snat ${c6.snatAddr} hairpin ${c6.hairpinAddr}`);
  }
  return `${lines.join('\n')}\n`;
}
