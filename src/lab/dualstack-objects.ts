// What the lab's API server and slice controller do for IPv6 (issue 15), pure: the cluster IPs
// of each family a Service's ipFamilyPolicy asks for, and an IPv6 EndpointSlice next to the IPv4
// one for every Service with the IPv6 family. Kubernetes' rules, for a cluster whose families are
// the lab's (--ip-family; IPv4 primary when dual):
//  - ipFamilyPolicy unset or SingleStack: the primary family only;
//  - PreferDualStack: every family the cluster has; RequireDualStack: both, or an error.
// The IPv6 cluster IP is derived from the IPv4 one the allocator picked (dualstack.ts), so a
// Service keeps both across edits. A cluster IP the manifest gives in IPv6 is kept as given.
import type { KubeObject } from '../fakeapi/server.js';
import { type LabIpFamily, podIpv6, serviceIpv6 } from './dualstack.js';

type Raw = Record<string, unknown>;

/** The Service as the API server would store it in a cluster of @family (after allocateService). */
export function stampFamilies(svc: KubeObject, family: LabIpFamily): KubeObject {
  const spec = (svc.spec ?? {}) as Raw;
  if (spec.type === 'ExternalName' || typeof spec.clusterIP !== 'string') return svc;
  const v4 = spec.clusterIP;
  const policy = (spec.ipFamilyPolicy as string | undefined) ?? 'SingleStack';
  if (policy === 'RequireDualStack' && family !== 'dual') {
    throw new Error(
      `Service ${svc.metadata.name}: spec.ipFamilyPolicy: RequireDualStack needs a dual-stack lab (this one is ${family})`,
    );
  }
  if (v4.includes(':')) return svc;
  const both = family === 'dual' && policy !== 'SingleStack';
  const out = structuredClone(svc);
  const s = out.spec as Raw;
  if (v4 === 'None') {
    s.clusterIPs = ['None'];
    s.ipFamilies = family === 'ipv6' ? ['IPv6'] : both ? ['IPv4', 'IPv6'] : ['IPv4'];
  } else if (family === 'ipv6') {
    s.clusterIP = serviceIpv6(v4);
    s.clusterIPs = [s.clusterIP];
    s.ipFamilies = ['IPv6'];
  } else {
    s.clusterIPs = both ? [v4, serviceIpv6(v4)] : [v4];
    s.ipFamilies = both ? ['IPv4', 'IPv6'] : ['IPv4'];
  }
  s.ipFamilyPolicy = policy;
  return out;
}

const familiesOf = (svc: KubeObject | undefined): string[] => {
  const f = (svc?.spec as Raw | undefined)?.ipFamilies;
  return Array.isArray(f) && f.length > 0 ? (f as string[]) : ['IPv4'];
};

/** The controller's IPv4 slices, each kept when its Service has the IPv4 family, and an IPv6
 *  twin ("<name>-v6", the pods' IPv6 addresses) when it has the IPv6 family. */
export function familySlices(slices: KubeObject[], services: KubeObject[]): KubeObject[] {
  const out: KubeObject[] = [];
  for (const slice of slices) {
    const labels = slice.metadata.labels ?? {};
    const svc = services.find(
      (s) =>
        s.metadata.name === labels['kubernetes.io/service-name'] &&
        (s.metadata.namespace || 'default') === (slice.metadata.namespace || 'default'),
    );
    const families = familiesOf(svc);
    if (families.includes('IPv4')) out.push(slice);
    if (!families.includes('IPv6')) continue;
    const v6 = structuredClone(slice) as KubeObject & Raw;
    v6.metadata.name = `${slice.metadata.name}-v6`;
    v6.addressType = 'IPv6';
    for (const ep of (v6.endpoints as Raw[] | undefined) ?? []) {
      ep.addresses = (ep.addresses as string[]).map(podIpv6);
    }
    out.push(v6);
  }
  return out;
}
