// kube-proxy's iptables mode (1.28+, ClusterIP only) as iptables-restore input, shared by
// bench/clusterip.mjs (the rules a packet walks) and bench/scale.mjs (the cost of a sync).
// A service is { vip, name, endpoints: ['ip:port' or '[ip6]:port', …] }, port 80/TCP, port name
// "http". The rules are one family's, as kube-proxy writes them per family: an IPv6 Service's go
// to ip6tables-restore (iptablesRules(services, 'ipv6')), with /128 hosts and the IPv6 pod CIDR.
import { createHash } from 'node:crypto';

export const POD_CIDR = '10.244.0.0/16';
/** The lab's IPv6 pod range (src/lab/dualstack.ts POD_CIDR6). */
export const POD_CIDR6 = 'fd10:244::/32';

/** The address of 'ip:port' or '[ip6]:port'. */
export const hostOf = (ep) => (ep.startsWith('[') ? ep.slice(1, ep.indexOf(']')) : ep.split(':')[0]);
const hostBits = (family) => (family === 'ipv6' ? 128 : 32);
const podCidrOf = (family) => (family === 'ipv6' ? POD_CIDR6 : POD_CIDR);

export const hash16 = (s) =>
  createHash('sha256')
    .update(s)
    .digest('base64')
    .replace(/[^A-Za-z0-9]/g, '')
    .toUpperCase()
    .slice(0, 16);

const svcNameOf = (s) => `default/${s.name}:http`;
const svcChainOf = (s) => `KUBE-SVC-${hash16(`${svcNameOf(s)}tcp`)}`;
const sepChainOf = (s, ep) => `KUBE-SEP-${hash16(`${svcNameOf(s)}tcp${ep}`)}`;

/** The service's KUBE-SERVICES rule: the one line every sync rewrites for every service. */
function servicesRule(s, family = 'ipv4') {
  const n = svcNameOf(s);
  return `-A KUBE-SERVICES -d ${s.vip}/${hostBits(family)} -p tcp -m comment --comment "${n} cluster IP" -m tcp --dport 80 -j ${svcChainOf(s)}`;
}

/** The service's own chains (KUBE-SVC-…, one KUBE-SEP-… per endpoint): declarations and rules. */
function serviceChains(s, chains, rules, family = 'ipv4') {
  const n = svcNameOf(s);
  const svc = svcChainOf(s);
  chains.push(`:${svc} - [0:0]`);
  rules.push(
    `-A ${svc} ! -s ${podCidrOf(family)} -d ${s.vip}/${hostBits(family)} -p tcp -m comment --comment "${n} cluster IP" -m tcp --dport 80 -j KUBE-MARK-MASQ`,
  );
  s.endpoints.forEach((ep, k) => {
    const sep = sepChainOf(s, ep);
    const left = s.endpoints.length - k;
    chains.push(`:${sep} - [0:0]`);
    rules.push(
      `-A ${svc} -m comment --comment "${n} -> ${ep}"${left > 1 ? ` -m statistic --mode random --probability ${(1 / left).toFixed(11)}` : ''} -j ${sep}`,
    );
    rules.push(`-A ${sep} -s ${hostOf(ep)}/${hostBits(family)} -m comment --comment "${n}" -j KUBE-MARK-MASQ`);
    rules.push(`-A ${sep} -p tcp -m comment --comment "${n}" -m tcp -j DNAT --to-destination ${ep}`);
  });
}

const NODEPORTS_LAST =
  '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS';

/** kube-proxy's full iptables-restore input (nat and filter tables) for one family. */
export function iptablesRules(services, family = 'ipv4') {
  const nat = [
    '*nat',
    ':PREROUTING ACCEPT [0:0]',
    ':INPUT ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':POSTROUTING ACCEPT [0:0]',
    ':KUBE-SERVICES - [0:0]',
    ':KUBE-NODEPORTS - [0:0]',
    ':KUBE-POSTROUTING - [0:0]',
    ':KUBE-MARK-MASQ - [0:0]',
  ];
  const rules = [
    '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
    '-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN',
    '-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000',
    '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
    '-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000',
  ];
  for (const s of services) {
    rules.push(servicesRule(s, family));
    serviceChains(s, nat, rules, family);
  }
  rules.push(NODEPORTS_LAST);
  const filter = [
    '*filter',
    ':INPUT ACCEPT [0:0]',
    ':FORWARD ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':KUBE-FORWARD - [0:0]',
    ':KUBE-SERVICES - [0:0]',
    '-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD',
    '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP',
    '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT',
    '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
    'COMMIT',
  ];
  return [...nat, ...rules, 'COMMIT', ...filter, ''].join('\n');
}

/**
 * kube-proxy's partial sync (MinimizeIPTablesRestore, on by default since 1.27) after one of
 * `services[changed]`'s endpoints went from `gone` to its current list, for `iptables-restore
 * --noflush`: KUBE-SERVICES is rewritten whole (one rule per service, every sync), only the
 * changed service's own chains are written, and the endpoint chain no longer used is deleted.
 */
export function iptablesPartialSync(services, changed, gone) {
  const nat = ['*nat', ':KUBE-SERVICES - [0:0]'];
  const rules = services.map(servicesRule);
  rules.push(NODEPORTS_LAST);
  serviceChains(services[changed], nat, rules);
  const stale = sepChainOf(services[changed], gone);
  nat.push(`:${stale} - [0:0]`);
  rules.push(`-X ${stale}`);
  return [...nat, ...rules, 'COMMIT', ''].join('\n');
}
