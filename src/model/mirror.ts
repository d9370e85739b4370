// Kubernetes' EndpointSliceMirroring controller as a pure function: v1 Endpoints written by hand
// for a Service without a selector become EndpointSlices, the only endpoint kind Switchyard reads.
// Used by the lab's controllers and by the manifest-directory source, so both accept Endpoints
// alike. Like kinds.ts it imports nothing, so any layer may use it.
//
// The controller's rules (pkg/controller/endpointslicemirroring in kubernetes/kubernetes):
// - skipped: Endpoints labelled endpointslice.kubernetes.io/skip-mirror=true, Endpoints with the
//   control-plane.alpha.kubernetes.io/leader annotation (leader election, not a Service), Endpoints
//   whose Service does not exist, and Endpoints whose Service has a selector (the EndpointSlice
//   controller owns those);
// - one slice per subset and address family, ports from the subset; `addresses` are ready,
//   `notReadyAddresses` not ready; at most 1000 addresses per subset are mirrored (ready first);
// - the slices carry the Endpoints' labels plus kubernetes.io/service-name and
//   endpointslice.kubernetes.io/managed-by=endpointslicemirroring-controller.k8s.io.

type Raw = Record<string, unknown>;
interface Obj {
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    uid?: string;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

export const MIRROR_MANAGED_BY = 'endpointslicemirroring-controller.k8s.io';
export const MAX_ADDRESSES_PER_SUBSET = 1000;
const SKIP_MIRROR_LABEL = 'endpointslice.kubernetes.io/skip-mirror';
const LEADER_ANNOTATION = 'control-plane.alpha.kubernetes.io/leader';
const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

export interface MirrorResult {
  slices: Obj[];
  /** Endpoints not mirrored, with the rule that skipped them (for logs and `diagnose`). */
  skipped: Array<{ namespace: string; name: string; reason: string }>;
  /** Endpoints whose subsets held more than 1000 addresses: the rest were left out. */
  truncated: Array<{ namespace: string; name: string; subset: number; dropped: number }>;
}

const obj = (v: unknown): Raw => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Raw) : {});
const arr = (v: unknown): Raw[] => (Array.isArray(v) ? v.map(obj) : []);
const nsOf = (o: Obj) => o.metadata.namespace || 'default';
const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const familyOf = (ip: string) => (IPV4.test(ip) ? 'IPv4' : ip.includes(':') ? 'IPv6' : undefined);

/** Why an Endpoints object is not mirrored, or undefined when it is. */
export function skipReason(ep: Obj, services: Obj[]): string | undefined {
  if (ep.metadata.labels?.[SKIP_MIRROR_LABEL] === 'true') return `labelled ${SKIP_MIRROR_LABEL}=true`;
  if (ep.metadata.annotations?.[LEADER_ANNOTATION] !== undefined) return `has the ${LEADER_ANNOTATION} annotation`;
  const svc = services.find((s) => s.metadata.name === ep.metadata.name && nsOf(s) === nsOf(ep));
  if (!svc) return `no Service ${nsOf(ep)}/${ep.metadata.name}`;
  // A non-nil selector, as the controller tests it: even an empty one means "not mine".
  if (obj(svc.spec).selector != null) {
    return `Service ${nsOf(ep)}/${ep.metadata.name} has a selector: its slices come from the pods`;
  }
  return undefined;
}

/** A stable slice name per Endpoints, subset and family (the controller uses generateName). */
function sliceName(name: string, subset: number, family: string): string {
  return `${name}-mirror-${subset}${family === 'IPv6' ? '-v6' : ''}`.slice(0, 253);
}

function toEndpoint(a: Raw, ready: boolean): Raw {
  return {
    addresses: [String(a.ip)],
    conditions: { ready },
    ...(a.hostname ? { hostname: a.hostname } : {}),
    ...(a.nodeName ? { nodeName: a.nodeName } : {}),
    ...(a.targetRef ? { targetRef: a.targetRef } : {}),
  };
}

/** The slices of one Endpoints object (already known to be mirrored). */
function mirrorOne(ep: Obj, out: MirrorResult): void {
  const labels: Record<string, string> = {
    ...(ep.metadata.labels ?? {}),
    [SERVICE_NAME_LABEL]: ep.metadata.name,
    [MANAGED_BY_LABEL]: MIRROR_MANAGED_BY,
  };
  arr(ep.subsets).forEach((subset, i) => {
    const all = [
      ...arr(subset.addresses).map((a) => ({ a, ready: true })),
      ...arr(subset.notReadyAddresses).map((a) => ({ a, ready: false })),
    ];
    const kept = all.slice(0, MAX_ADDRESSES_PER_SUBSET);
    if (all.length > kept.length)
      out.truncated.push({ namespace: nsOf(ep), name: ep.metadata.name, subset: i, dropped: all.length - kept.length });
    const ports = arr(subset.ports).map((p) => ({
      name: String(p.name ?? ''),
      port: Number(p.port),
      protocol: String(p.protocol ?? 'TCP'),
      ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}),
    }));
    for (const family of ['IPv4', 'IPv6']) {
      // Invalid addresses are dropped, as the controller does.
      const mine = kept.filter(({ a }) => familyOf(String(a.ip ?? '')) === family);
      if (!mine.length) continue;
      out.slices.push({
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: {
          name: sliceName(ep.metadata.name, i, family),
          namespace: nsOf(ep),
          labels,
          ownerReferences: [
            { apiVersion: 'v1', kind: 'Endpoints', name: ep.metadata.name, uid: ep.metadata.uid, controller: true },
          ],
        },
        addressType: family,
        ports,
        endpoints: mine.map(({ a, ready }) => toEndpoint(a, ready)),
      });
    }
  });
}

/** Every slice the mirroring controller keeps for these Endpoints, given the Services. */
export function mirrorEndpoints(endpoints: Obj[], services: Obj[]): MirrorResult {
  const out: MirrorResult = { slices: [], skipped: [], truncated: [] };
  for (const ep of endpoints) {
    const reason = skipReason(ep, services);
    if (reason) out.skipped.push({ namespace: nsOf(ep), name: ep.metadata.name, reason });
    else mirrorOne(ep, out);
  }
  return out;
}

export function isMirroredSlice(s: Obj): boolean {
  return s.metadata.labels?.[MANAGED_BY_LABEL] === MIRROR_MANAGED_BY;
}
