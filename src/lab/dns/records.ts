// The Kubernetes DNS schema (github.com/kubernetes/dns/blob/master/docs/specification.md) over
// the Services and EndpointSlices the lab's DNS server watches, as a pure function: a question in,
// the answer records and the response code out. The server (server.ts) does only the wire format.
import type { Answer, Question } from 'dns-packet';

export const ZONE = 'cluster.local';
/** CoreDNS' default TTL for Service records: clients re-ask soon after the endpoints change. */
export const TTL = 5;

type Raw = Record<string, unknown>;
export interface KubeLike {
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [k: string]: unknown;
}

export interface DnsAnswer {
  rcode: 'NOERROR' | 'NXDOMAIN';
  answers: Answer[];
  additionals: Answer[];
  authorities: Answer[];
}

const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

const specOf = (s: KubeLike) => (s.spec ?? {}) as Raw;
const nsOf = (o: KubeLike) => o.metadata.namespace || 'default';

/** The negative answers' SOA, so resolvers may cache NXDOMAIN/NODATA for TTL seconds. */
export function soa(): Answer {
  return {
    name: ZONE,
    type: 'SOA',
    ttl: TTL,
    data: {
      mname: `ns.dns.${ZONE}`,
      rname: `hostmaster.${ZONE}`,
      serial: 1,
      refresh: 7200,
      retry: 1800,
      expire: 86400,
      minimum: TTL,
    },
  };
}

/** The ready addresses of a Service's slices, with the slice port of each name ('' unnamed). */
function readyEndpoints(
  slices: KubeLike[],
  svc: KubeLike,
): { ips: string[]; ports: Array<{ name: string; port: number; protocol: string }> } {
  const mine = slices.filter(
    (s) => nsOf(s) === nsOf(svc) && s.metadata.labels?.[SERVICE_NAME_LABEL] === svc.metadata.name,
  );
  const ips = new Set<string>();
  const ports: Array<{ name: string; port: number; protocol: string }> = [];
  for (const s of mine) {
    for (const e of (s.endpoints as Raw[] | undefined) ?? []) {
      // Absent "ready" means ready (the API's documented default).
      if ((e.conditions as Raw | undefined)?.ready === false) continue;
      for (const a of (e.addresses as string[] | undefined) ?? []) ips.add(a);
    }
    for (const p of (s.ports as Raw[] | undefined) ?? []) {
      ports.push({ name: String(p.name ?? ''), port: Number(p.port), protocol: String(p.protocol ?? 'TCP') });
    }
  }
  return { ips: [...ips].sort(ipOrder), ports };
}

function ipOrder(a: string, b: string): number {
  const n = (ip: string) => ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  return n(a) - n(b);
}

const dashed = (ip: string) => ip.replace(/\./g, '-');

/** Where a name points inside the zone: a Service, optionally a headless endpoint's hostname or an SRV port. */
interface Parsed {
  svc: string;
  ns: string;
  endpoint?: string;
  srv?: { port: string; proto: string };
}

function parseName(name: string): Parsed | undefined {
  const labels = name.toLowerCase().replace(/\.$/, '').split('.');
  const zone = ZONE.split('.');
  if (labels.length < zone.length + 3) return undefined;
  if (labels.slice(-zone.length).join('.') !== ZONE || labels[labels.length - zone.length - 1] !== 'svc')
    return undefined;
  const rest = labels.slice(0, -zone.length - 1); // [...prefix, svc, ns]
  const ns = rest.pop()!;
  const svc = rest.pop()!;
  if (rest.length === 0) return { svc, ns };
  if (rest.length === 1) return { svc, ns, endpoint: rest[0] };
  if (rest.length === 2 && rest[0].startsWith('_') && rest[1].startsWith('_')) {
    return { svc, ns, srv: { port: rest[0].slice(1), proto: rest[1].slice(1) } };
  }
  return undefined;
}

const a = (name: string, ip: string): Answer => ({ name, type: 'A', ttl: TTL, data: ip });

/**
 * The answer to one question. A name the schema defines but without a record of the asked type
 * (AAAA for an IPv4 Service) is NOERROR with no answers — NODATA — never NXDOMAIN, or a resolver
 * would give up on the name for both families.
 */
export function answer(q: Question, services: KubeLike[], slices: KubeLike[]): DnsAnswer {
  const out: DnsAnswer = { rcode: 'NOERROR', answers: [], additionals: [], authorities: [] };
  const nx = (): DnsAnswer => ({ ...out, rcode: 'NXDOMAIN', authorities: [soa()] });
  const p = parseName(q.name);
  if (!p) return nx();
  const svc = services.find((s) => s.metadata.name === p.svc && nsOf(s) === p.ns);
  if (!svc) return nx();
  const spec = specOf(svc);
  const fqdn = `${p.svc}.${p.ns}.svc.${ZONE}`;
  const headless = spec.clusterIP === 'None';
  const eps = headless && spec.type !== 'ExternalName' ? readyEndpoints(slices, svc) : { ips: [], ports: [] };
  if (p.endpoint !== undefined) {
    const ip = eps.ips.find((x) => dashed(x) === p.endpoint);
    if (!ip) return nx();
    if (q.type === 'A') out.answers.push(a(q.name, ip));
  } else if (p.srv) {
    if (!srvAnswer(q, p, svc, fqdn, eps, out)) return nx();
  } else if (spec.type === 'ExternalName') {
    const target = String(spec.externalName ?? '').replace(/\.$/, '');
    out.answers.push({ name: q.name, type: 'CNAME', ttl: TTL, data: target });
    // Chase a target inside the zone, as CoreDNS does, so one round trip gives the address.
    if (q.type !== 'CNAME' && target.endsWith(`.${ZONE}`)) {
      const chased = answer({ ...q, name: target }, services, slices);
      out.answers.push(...chased.answers.filter((r) => r.type !== 'SOA'));
    }
  } else if (q.type === 'A') {
    const ips = headless ? eps.ips : [String(spec.clusterIP ?? '')].filter(Boolean);
    out.answers.push(...ips.map((ip) => a(q.name, ip)));
  }
  if (out.answers.length === 0) out.authorities.push(soa());
  return out;
}

/** SRV _port._proto.svc.ns.svc.zone: the Service itself for a cluster IP, each ready pod if headless. */
function srvAnswer(
  q: Question,
  p: Parsed,
  svc: KubeLike,
  fqdn: string,
  eps: ReturnType<typeof readyEndpoints>,
  out: DnsAnswer,
): boolean {
  const ports = (specOf(svc).ports as Raw[] | undefined) ?? [];
  const port = ports.find(
    (x) =>
      String(x.name ?? '').toLowerCase() === p.srv!.port && String(x.protocol ?? 'TCP').toLowerCase() === p.srv!.proto,
  );
  if (!port) return false;
  if (q.type !== 'SRV') return true;
  if (specOf(svc).clusterIP !== 'None') {
    out.answers.push({
      name: q.name,
      type: 'SRV',
      ttl: TTL,
      data: { priority: 0, weight: 100, port: Number(port.port), target: fqdn },
    });
    out.additionals.push(a(fqdn, String(specOf(svc).clusterIP)));
    return true;
  }
  const epPort = eps.ports.find((x) => x.name.toLowerCase() === p.srv!.port)?.port ?? Number(port.port);
  for (const ip of eps.ips) {
    const target = `${dashed(ip)}.${fqdn}`;
    out.answers.push({ name: q.name, type: 'SRV', ttl: TTL, data: { priority: 0, weight: 100, port: epPort, target } });
    out.additionals.push(a(target, ip));
  }
  return true;
}
