// Who may claim which frontend: the frontends each service port asks for, the external-address
// policy (external-ips.ts), and how contested keys are settled (the previous holder, else the
// older Service, else the first by name). compile() and the incremental compiler share these.
import { isIP } from 'node:net';
import { addrPort } from '../net/ipv6.js';
import {
  FE_LOCAL_ONLY,
  FE_NODEPORT,
  FE_SOURCE_RANGES,
  IPPROTO_TCP,
  IPPROTO_UDP,
  SCOPE_EXTERNAL,
  SCOPE_INTERNAL,
  type FrontendKey,
} from '../abi/index.js';
import { ValidationError, type Service, type ServicePort } from '../model/types.js';
import { externalAddressRefusal, OPEN_POLICY } from './external-ips.js';
import { frontendKeyString, svcIdentity, type DesiredState, type NodeConfig, type SetVariant } from './types.js';

export interface Want {
  key: FrontendKey;
  /** frontendKeyString(key), made once: claims, dedupe and the incremental index all key by it. */
  ks: string;
  variant: SetVariant;
  flags: number;
  /** The field that asked for it, for conflict reports. */
  field: string;
}

export function frontendKeyText(key: FrontendKey): string {
  // Flat (join), not a template's rope: each service port's info keeps its frontends' texts.
  return [addrPort(key.addr, key.port), '/', key.proto === IPPROTO_UDP ? 'UDP' : 'TCP'].join('');
}

/** @text as the string in @texts that equals it, if one does (a list of a few keys): a Service
 *  recompiled keeps its key texts, so the tables that hold them share one string per key. */
export function sameText(texts: readonly string[], text: string): string {
  return texts.find((t) => t === text) ?? text;
}

/** One service port's frontends, before claims are settled. */
export interface Ask {
  svc: Service;
  sp: ServicePort;
  wants: Want[];
}

/** The wants of @ask that it holds (@holder: who holds each frontend key); the lost ones are
 *  reported in @conflicts, once per address. */
export function keptWants(
  ask: Ask,
  holder: (key: string) => { svc: Service; sp: ServicePort },
  conflicts: ValidationError[],
): Want[] {
  const { svc, sp, wants } = ask;
  // Made at the first lost want: until then the kept ones are a prefix of @wants, and a port
  // nearly always keeps them all (then @wants itself is returned).
  let kept: Want[] | undefined;
  let lost: Set<string> | undefined; // "addr:port/PROTO", reported once per address
  for (let i = 0; i < wants.length; i++) {
    const w = wants[i]!;
    const h = holder(w.ks);
    if (h.svc === svc && h.sp === sp) {
      kept?.push(w);
      continue;
    }
    kept ??= wants.slice(0, i);
    lost ??= new Set();
    const text = frontendKeyText(w.key);
    if (lost.has(text)) continue;
    lost.add(text);
    const whose =
      h.svc === svc
        ? `spec.ports[${h.sp.index}] of this Service`
        : `Service ${h.svc.key} (port ${h.sp.name ? `"${h.sp.name}"` : h.sp.port})`;
    conflicts.push(
      new ValidationError(
        svc.origin,
        'Service',
        svc.namespace,
        svc.name,
        w.field,
        `frontend ${text} is already taken by ${whose}; not programmed for this port`,
        false,
      ),
    );
  }
  return kept ?? wants;
}

/** Services in the order their claims count: the older first (creationTimestamp; one without a
 *  timestamp counts as newest), then by namespace/name. */
export function claimOrder(all: Iterable<Service>): Service[] {
  const age = (s: Service) => s.createdAt ?? Number.MAX_SAFE_INTEGER;
  return [...all].sort((a, b) => age(a) - age(b) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/**
 * Who gets each frontend key: the service port that held it in @previous, if it still asks;
 * otherwise the first asker in claim order.
 */
export function settleClaims(asks: Ask[], previous: DesiredState | undefined): Map<string, Ask> {
  const heldBy = new Map<string, string>();
  for (const fe of previous?.frontends ?? []) {
    const info = previous!.services.get(fe.svcId);
    if (info) heldBy.set(frontendKeyString(fe.key), info.identity);
  }
  const winners = new Map<string, Ask>();
  for (const ask of asks) {
    // Nothing held (a cold start): no identity text to build per service port.
    const identity =
      heldBy.size > 0 ? svcIdentity(ask.svc.namespace, ask.svc.name, ask.sp.name, ask.sp.protocol) : undefined;
    for (const w of ask.wants) {
      if (!winners.has(w.ks) || (identity !== undefined && heldBy.get(w.ks) === identity)) winners.set(w.ks, ask);
    }
  }
  return winners;
}

/** Whether an external or load-balancer address may be claimed (external-ips.ts); a refusal is
 *  recorded once per field. Cluster IPs and node ports are not subject to it. */
export function admitted(
  w: Want,
  svc: Service,
  node: NodeConfig,
  nodeAddrs: string[],
  refused: ValidationError[],
): boolean {
  if (!w.field.startsWith('spec.externalIPs') && !w.field.startsWith('status.loadBalancer')) return true;
  const why = externalAddressRefusal(
    w.key.addr,
    node.externalAddressPolicy ?? OPEN_POLICY,
    node.nodeAddresses ?? nodeAddrs,
  );
  if (why === undefined) return true;
  if (
    w.key.scope === SCOPE_EXTERNAL &&
    !refused.some((r) => r.namespace === svc.namespace && r.name === svc.name && r.message.startsWith(`${why};`))
  ) {
    refused.push(
      new ValidationError(svc.origin, 'Service', svc.namespace, svc.name, w.field, `${why}; not programmed`, false),
    );
  }
  return false;
}

/** The @wants admitted() lets through, in order (refusals recorded as admitted does); @wants
 *  itself when that is all of them, as it nearly always is. */
export function admittedWants(
  wants: Want[],
  svc: Service,
  node: NodeConfig,
  nodeAddrs: string[],
  refused: ValidationError[],
): Want[] {
  let out: Want[] | undefined;
  for (let i = 0; i < wants.length; i++) {
    const ok = admitted(wants[i]!, svc, node, nodeAddrs, refused);
    if (!ok && out === undefined) out = wants.slice(0, i);
    else if (ok && out !== undefined) out.push(wants[i]!);
  }
  return out ?? wants;
}

/** The frontends one service port asks for, in a fixed order: ClusterIPs, node ports, external
 *  IPs, load-balancer IPs; each address EXTERNAL before INTERNAL. Only addresses of the Service's
 *  own families (ipFamilies; IPv4 when it names none): kube-proxy's proxier of a family skips a
 *  Service without a cluster IP of that family, so an IPv4-only NodePort Service does not answer
 *  on the node's IPv6 addresses, and an IPv6 externalIP of an IPv4-only Service is ignored. */
export function frontendsFor(svc: Service, sp: ServicePort, nodeAddrs: string[]): Want[] {
  const families = svc.ipFamilies.length > 0 ? svc.ipFamilies : ['IPv4'];
  const ours = (addr: string) => families.includes(addr.includes(':') ? 'IPv6' : 'IPv4');
  const proto = sp.protocol === 'UDP' ? IPPROTO_UDP : IPPROTO_TCP;
  const f = `spec.ports[${sp.index}]`;
  const out: Want[] = [];
  const itpLocal = svc.internalTrafficPolicy === 'Local';
  for (const addr of svc.clusterIPs) {
    const key = { addr, port: sp.port, proto, scope: SCOPE_INTERNAL };
    out.push(want(key, itpLocal ? 'local' : 'all', itpLocal ? FE_LOCAL_ONLY : 0, `${f}.port`));
  }
  const etpLocal = svc.externalTrafficPolicy === 'Local';
  const external = (addr: string, port: number, extraFlags: number, field: string) => {
    const flags = FE_NODEPORT | extraFlags;
    out.push(
      want(
        { addr, port, proto, scope: SCOPE_EXTERNAL },
        etpLocal ? 'local' : 'all',
        flags | (etpLocal ? FE_LOCAL_ONLY : 0),
        field,
      ),
    );
    out.push(want({ addr, port, proto, scope: SCOPE_INTERNAL }, 'all', flags, field));
  };
  if (sp.nodePort !== undefined && (svc.type === 'NodePort' || svc.type === 'LoadBalancer')) {
    for (const addr of nodeAddrs.filter(ours)) external(addr, sp.nodePort, 0, `${f}.nodePort`);
  }
  svc.externalIPs.forEach((addr, i) => ours(addr) && external(addr, sp.port, 0, `spec.externalIPs[${i}]`));
  if (svc.type === 'LoadBalancer') {
    // Ranges of the address's own family only, as kube-proxy filters them per family: an IPv6 LB
    // address of a Service that lists only IPv4 ranges is not restricted.
    const ranges = (addr: string) =>
      svc.loadBalancerSourceRanges.some((r) => r.includes(':') === addr.includes(':')) ? FE_SOURCE_RANGES : 0;
    for (const addr of svc.loadBalancerIPs.filter(ours)) {
      external(addr, sp.port, ranges(addr), 'status.loadBalancer.ingress');
    }
  }
  return out;
}

const want = (key: FrontendKey, variant: SetVariant, flags: number, field: string): Want => ({
  key,
  ks: frontendKeyString(key),
  variant,
  flags,
  field,
});

/** The same key asked twice by one service port (an external IP listed twice, or equal to an LB
 *  IP) is one frontend: the first ask wins. */
export function dedupe(wants: Want[]): Want[] {
  if (wants.length < 2) return wants; // a ClusterIP-only port: no Set
  const seen = new Set<string>();
  return wants.filter((w) => {
    if (seen.has(w.ks)) return false;
    seen.add(w.ks);
    return true;
  });
}

/** One Service's admitted wants per port, as compile builds its asks (refusals not recorded). */
export function serviceAsks(svc: Service, node: NodeConfig, nodeAddrs: string[]): Ask[] {
  if (svc.headless || svc.type === 'ExternalName') return [];
  const asks: Ask[] = [];
  for (const sp of svc.ports) {
    const wants = admittedWants(dedupe(frontendsFor(svc, sp, nodeAddrs)), svc, node, nodeAddrs, []);
    if (wants.length > 0) asks.push({ svc, sp, wants });
  }
  return asks;
}

/** The node addresses NodePorts answer on (both families), without duplicates. */
export function nodeAddresses(node: NodeConfig): string[] {
  return [...new Set(node.nodePortAddresses.filter((a) => isIP(a) !== 0))];
}
