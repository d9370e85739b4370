// EndpointSlice and Node: raw JSON → validated, normalized model objects.
import { ipv4ToInt } from '../net/ipv4.js';
import { canonicalIpv6 } from '../net/ipv6.js';
import { sharedList, sharedName } from '../util/shared-names.js';
import { EndpointListBuilder } from './endpoint-list.js';
import { exact, isDottedQuad, isObject, show, type Checker } from './check.js';
import { readHead, readProtocol, type ParseResult } from './service.js';
import type { Endpoint, EndpointPort, IpFamily, EndpointSlice, Node, NodeAddress } from './types.js';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
export const ZONE_LABEL = 'topology.kubernetes.io/zone';
export const TRIGGER_TIME_ANNOTATION = 'endpoints.kubernetes.io/last-change-trigger-time';

/** `skipped` is set (and `value` absent, with no problems) for slices this proxy does not use:
 *  addressType FQDN. Clusters have those routinely, so they are not errors. */
export function parseEndpointSlice(input: unknown, origin: string): ParseResult<EndpointSlice> & { skipped?: string } {
  const head = readHead(input, true);
  if ('rejected' in head) return head.rejected;
  const { c, raw, namespace, name, labels, annotations } = head;
  const serviceName = labels[SERVICE_NAME_LABEL];
  if (!serviceName) c.fail('metadata.labels', `needs label ${SERVICE_NAME_LABEL} naming the Service`);

  const addressType = raw.addressType ?? 'IPv4';
  if (addressType === 'FQDN') return { namespace, name, problems: c.problems, skipped: 'addressType FQDN' };
  if (addressType !== 'IPv4' && addressType !== 'IPv6') {
    c.fail('addressType', `must be IPv4, IPv6 or FQDN (got ${show(addressType)})`);
  }
  const family: IpFamily = addressType === 'IPv6' ? 'IPv6' : 'IPv4';

  const ports: EndpointPort[] = [];
  (c.array(raw.ports, 'ports') ?? []).forEach((entry, i) => {
    const p = c.object(entry, `ports[${i}]`);
    if (!p) return;
    const portName = c.string(p.name, `ports[${i}].name`, '');
    // A nil port means "all ports" (selector-less special cases); a proxy cannot use it.
    if (p.port === undefined || p.port === null) return;
    const port = c.int(p.port, `ports[${i}].port`, 1, 65535);
    // SCTP ports can only match SCTP Service ports, which the model rejects: drop them quietly.
    if (p.protocol === 'SCTP') return;
    const protocol = readProtocol(c, p.protocol, `ports[${i}].protocol`);
    if (portName !== undefined && port !== undefined && protocol) ports.push({ name: portName, port, protocol });
  });

  const endpoints = new EndpointListBuilder();
  const list = c.array(raw.endpoints, 'endpoints') ?? [];
  for (let i = 0; i < list.length; i++) readEndpoint(c, list[i], i, family, endpoints);

  if (!c.ok || !serviceName) return { namespace, name, problems: c.problems };
  const slice: EndpointSlice = {
    origin,
    addressType: family,
    namespace,
    name,
    serviceName,
    serviceKey: [namespace, '/', serviceName].join(''), // flat, not a rope: see svcIdentity
    ports: sharedPorts(ports),
    endpoints: endpoints.done(),
  };
  const trigger = annotations[TRIGGER_TIME_ANNOTATION];
  if (trigger) {
    const t = new Date(trigger);
    if (!Number.isNaN(t.getTime())) slice.lastChangeTriggerTime = t; // a bad timestamp only costs a metric
  }
  return { value: slice, namespace, name, problems: [] };
}

/** @ports as the list every slice with the same ports shares (frozen; see sharedList). */
const sharedPorts = (ports: EndpointPort[]): EndpointPort[] =>
  ports.length === 0 ? exact(ports) : sharedList(JSON.stringify(ports), ports);

/** endpoints[@i], added to @into (nothing when it has a problem). A field's path is only spelled
 *  out when it has a problem: built for every field of every endpoint, those strings were most
 *  of a cold start's parsing garbage. */
function readEndpoint(c: Checker, entry: unknown, i: number, family: IpFamily, into: EndpointListBuilder): void {
  const e = isObject(entry) ? entry : c.object(entry, `endpoints[${i}]`);
  if (!e) return;
  const addrs = Array.isArray(e.addresses) ? e.addresses : (c.array(e.addresses, `endpoints[${i}].addresses`) ?? []);
  const raw0: unknown = addrs[0];
  const address =
    typeof raw0 !== 'string'
      ? undefined
      : family === 'IPv4'
        ? isDottedQuad(raw0)
          ? raw0
          : undefined
        : canonicalIpv6(raw0);
  if (address === undefined) {
    c.fail(`endpoints[${i}].addresses[0]`, `must be an ${family} address, as addressType says (got ${show(raw0)})`);
    return;
  }
  const cond = isObject(e.conditions) ? e.conditions : (c.object(e.conditions, `endpoints[${i}].conditions`) ?? {});
  const { ready: r, serving: s, terminating: t } = cond;
  // Nil conditions: ready → true, serving → ready, terminating → false (the API's documented meaning).
  const ready = (typeof r === 'boolean' ? r : c.bool(r, `endpoints[${i}].conditions.ready`)) ?? true;
  const serving = (typeof s === 'boolean' ? s : c.bool(s, `endpoints[${i}].conditions.serving`)) ?? ready;
  const terminating = (typeof t === 'boolean' ? t : c.bool(t, `endpoints[${i}].conditions.terminating`)) ?? false;
  const nodeName = typeof e.nodeName === 'string' ? e.nodeName : c.string(e.nodeName, `endpoints[${i}].nodeName`, '');
  const zone = typeof e.zone === 'string' ? e.zone : c.string(e.zone, `endpoints[${i}].zone`, '');
  // Names shared (util/shared-names.ts): the informers hold these endpoints for the agent's life.
  into.add(
    address,
    family === 'IPv4' ? ipv4ToInt(address) : -1,
    ready,
    serving,
    terminating,
    nodeName || undefined, // kept once, by index (endpoint-list.ts)
    zone ? sharedName(zone) : undefined,
    e.hints !== undefined && e.hints !== null ? readHints(c, e.hints, `endpoints[${i}].hints`) : undefined,
  );
}

/** hints.forZones / hints.forNodes: lists of {name}. An empty or absent list is "no hint" (what
 *  kube-proxy's ZoneHints().Len() == 0 means). */
function readHints(c: Checker, input: unknown, field: string): Pick<Endpoint, 'zoneHints' | 'nodeHints'> {
  const ep: Pick<Endpoint, 'zoneHints' | 'nodeHints'> = {};
  const hints = c.object(input, field);
  if (!hints) return ep;
  for (const [key, into] of [
    ['forZones', 'zoneHints'],
    ['forNodes', 'nodeHints'],
  ] as const) {
    const names: string[] = [];
    (c.array(hints[key], `${field}.${key}`) ?? []).forEach((entry, i) => {
      const h = c.object(entry, `${field}.${key}[${i}]`);
      const name = h && c.string(h.name, `${field}.${key}[${i}].name`, '');
      if (name) names.push(name);
      else if (name === '') c.fail(`${field}.${key}[${i}].name`, 'must name a zone or node (got "")');
    });
    if (names.length > 0) ep[into] = names;
  }
  return ep;
}

export function parseNode(input: unknown, origin: string): ParseResult<Node> {
  const head = readHead(input, false);
  if ('rejected' in head) return head.rejected;
  const { c, raw, name, labels } = head;
  const status = c.object(raw.status, 'status') ?? {};
  const addresses: NodeAddress[] = [];
  (c.array(status.addresses, 'status.addresses') ?? []).forEach((entry, i) => {
    const a = c.object(entry, `status.addresses[${i}]`);
    if (!a) return;
    if (a.type !== 'InternalIP' && a.type !== 'ExternalIP') return; // Hostname, InternalDNS, ...
    const ip = c.ip(a.address, `status.addresses[${i}].address`);
    if (ip && !addresses.some((x) => x.address === ip.addr)) addresses.push({ type: a.type, address: ip.addr });
  });
  if (!c.ok) return { namespace: '', name, problems: c.problems };
  const node: Node = { origin, name, addresses };
  if (labels[ZONE_LABEL]) node.zone = labels[ZONE_LABEL];
  return { value: node, namespace: '', name, problems: [] };
}
