// A Service's cluster IPs and IP families (spec.clusterIP, clusterIPs, ipFamilies,
// ipFamilyPolicy), read and checked together as the API server checks them.
import { type Checker, exact, show, type Raw } from './check.js';
import type { IpFamily, IpFamilyPolicy, ServiceType } from './types.js';

const IP_FAMILIES: readonly IpFamily[] = ['IPv4', 'IPv6'];
const FAMILY_POLICIES: readonly IpFamilyPolicy[] = ['SingleStack', 'PreferDualStack', 'RequireDualStack'];

/** The four lists ipFamilies can be, made once and frozen (as exact's empty list): one Service's
 *  own list was 56 bytes, and nearly every Service's is ['IPv4']. */
const FAMILY_LISTS: ReadonlyArray<readonly IpFamily[]> = [['IPv4'], ['IPv6'], ['IPv4', 'IPv6'], ['IPv6', 'IPv4']].map(
  (l) => Object.freeze(l as IpFamily[]),
);
export function sharedFamilies(fs: IpFamily[]): IpFamily[] {
  const same = FAMILY_LISTS.find((l) => l.length === fs.length && l.every((f, i) => f === fs[i]));
  return (same as IpFamily[] | undefined) ?? exact(fs);
}

/** The cluster IPs (clusterIPs wins; clusterIP alone is the single-stack form; ExternalName has
 *  none) with ipFamilies and ipFamilyPolicy, checked as the API server checks them: at most one
 *  address per family, clusterIPs[0] equal to clusterIP, ipFamilies[i] the family of clusterIPs[i]. */
export function readClusterIPs(
  c: Checker,
  spec: Raw,
  type: ServiceType | undefined,
): {
  headless: boolean;
  clusterIPs: string[];
  externalName?: string;
  ipFamilies: IpFamily[];
  ipFamilyPolicy: IpFamilyPolicy;
} {
  const ipFamilies = readFamilies(c, spec.ipFamilies);
  // Unset, it defaults as the API server defaults it: two families or two IPs mean RequireDualStack.
  const two = ipFamilies.length > 1 || (Array.isArray(spec.clusterIPs) && spec.clusterIPs.length > 1);
  const fallback = two ? 'RequireDualStack' : 'SingleStack';
  const policy = c.oneOf(spec.ipFamilyPolicy, 'spec.ipFamilyPolicy', FAMILY_POLICIES, fallback) ?? fallback;
  const out = { headless: false, clusterIPs: [] as string[], ipFamilies, ipFamilyPolicy: policy };
  if (policy === 'SingleStack' && ipFamilies.length > 1) {
    c.fail('spec.ipFamilies', `must hold one family under ipFamilyPolicy SingleStack (got ${show(spec.ipFamilies)})`);
  }
  if (type === 'ExternalName') {
    return { ...out, externalName: c.string(spec.externalName, 'spec.externalName', '') || undefined };
  }
  const list = c.array(spec.clusterIPs, 'spec.clusterIPs') ?? [];
  const single = c.string(spec.clusterIP, 'spec.clusterIP', '');
  const given = list.length > 0 ? list : single ? [single] : [];
  const field = (i: number) => (list.length > 0 ? `spec.clusterIPs[${i}]` : 'spec.clusterIP');
  if (list.length > 0 && single && single !== list[0]) {
    c.fail('spec.clusterIP', `must equal spec.clusterIPs[0] (got ${show(single)} and ${show(list[0])})`);
  }
  if (given[0] === 'None') {
    if (given.length > 1) c.fail('spec.clusterIPs', 'must hold only "None" for a headless Service');
    return { ...out, headless: true };
  }
  if (given.length > 2) c.fail('spec.clusterIPs', `holds at most one address per family (got ${given.length})`);
  given.slice(0, 2).forEach((v, i) => {
    const ip = c.ip(v, field(i));
    if (!ip) return;
    const family: IpFamily = ip.v6 ? 'IPv6' : 'IPv4';
    if (i === 1 && out.clusterIPs[0]?.includes(':') === ip.v6) {
      c.fail(field(1), `must be of the other family than spec.clusterIPs[0] (both are ${family})`);
    } else if (ipFamilies[i] !== undefined && ipFamilies[i] !== family) {
      c.fail(field(i), `is ${family} but spec.ipFamilies[${i}] is ${ipFamilies[i]}`);
    }
    out.clusterIPs.push(ip.addr);
  });
  if (out.clusterIPs.length > 1 && policy === 'SingleStack') {
    c.fail('spec.clusterIPs', 'holds two addresses but spec.ipFamilyPolicy is SingleStack');
  }
  if (policy === 'RequireDualStack' && given.length === 1) {
    c.fail('spec.clusterIPs', 'needs one address per family under ipFamilyPolicy RequireDualStack (got one)');
  }
  if (ipFamilies.length === 0) out.ipFamilies = out.clusterIPs.map((a) => (a.includes(':') ? 'IPv6' : 'IPv4'));
  return out;
}

/** spec.ipFamilies: up to two distinct families, primary first. */
function readFamilies(c: Checker, value: unknown): IpFamily[] {
  const families: IpFamily[] = [];
  (c.array(value, 'spec.ipFamilies') ?? []).forEach((v, i) => {
    const f = c.oneOf(v, `spec.ipFamilies[${i}]`, IP_FAMILIES, 'IPv4');
    if (!f) return;
    if (families.includes(f)) c.fail(`spec.ipFamilies[${i}]`, `duplicates spec.ipFamilies[0] (${f})`);
    else if (i < 2) families.push(f);
    else c.fail('spec.ipFamilies', `holds at most two families (got ${show(value)})`);
  });
  return families;
}
