// bench/clusterip.mjs's Services, one list per family, and what each case installs for them:
// the agent's manifest (dual-stack Services when both families are measured), kube-proxy's
// nftables table (kube-proxy's iptables rules are bench/kube-proxy-iptables.mjs).
// A service is { vip, name, endpoints: ['ip:port' or '[ip6]:port', …] }; both families' lists
// hold the same names in the same order, so the i-th of each are one dual-stack Service.
import { hash16, hostOf, POD_CIDR, POD_CIDR6 } from './kube-proxy-iptables.mjs';

export const VIP = '10.96.0.10';
/** The lab's IPv6 ClusterIP for 10.96.0.10 (src/lab/dualstack.ts serviceIpv6: 10.a.b.c → fd00:96::a:b:c). */
export const VIP6 = 'fd00:96::96:0:10';

const hostPort = (family, host) => (family === 'ipv6' ? `[${host}]:80` : `${host}:80`);

/** The i-th Service nobody connects to: made-up ClusterIP and endpoints (IPv6: the IPv4
 *  digits under fd00:97::/64 and fd10:24x::/32, as the lab maps its addresses). */
function fillerService(i, family) {
  const [hi, lo] = [(i >> 8) & 255, i & 255];
  const vip = family === 'ipv6' ? `fd00:97::${hi}:${lo}` : `10.97.${hi}.${lo}`;
  const ep = (b) => (family === 'ipv6' ? `fd10:${b}::${hi}:${lo}` : `10.${b}.${hi}.${lo}`);
  return { vip, name: `svc${i}`, endpoints: [245, 246, 247].map((b) => hostPort(family, ep(b))) };
}

/** `count` Services of one family; the measured one (VIP:80 → the backends) is written last,
 *  so iptables' KUBE-SERVICES chain is walked to its end. A backend is { ip, ip6 }. */
export function servicesFor(count, backends, family = 'ipv4') {
  const list = [];
  for (let i = 0; i < count - 1; i++) list.push(fillerService(i, family));
  const endpoints = backends.map((b) => hostPort(family, family === 'ipv6' ? b.ip6 : b.ip));
  list.push({ vip: family === 'ipv6' ? VIP6 : VIP, name: 'target', endpoints });
  return list;
}

/** kube-proxy's nftables mode (1.31+), ClusterIP only: one `ip kube-proxy` table (IPv6:
 *  `ip6 kube-proxy`, as kube-proxy writes one table per family). */
export function nftRules(services, family = 'ipv4') {
  const [table, addrType, match, podCidr] =
    family === 'ipv6' ? ['ip6', 'ipv6_addr', 'ip6', POD_CIDR6] : ['ip', 'ipv4_addr', 'ip', POD_CIDR];
  const L = [
    `table ${table} kube-proxy {`,
    '  comment "rules for kube-proxy"',
    `  map no-endpoint-services { type ${addrType} . inet_proto . inet_service : verdict; }`,
    `  map service-ips { type ${addrType} . inet_proto . inet_service : verdict; comment "ClusterIP, ExternalIP and LoadBalancer IP traffic"; }`,
    '  chain mark-for-masquerade { mark set mark or 0x4000; }',
    '  chain masquerading { type nat hook postrouting priority 100; policy accept;',
    '    mark and 0x4000 == 0 return; mark set mark xor 0x4000; masquerade fully-random; }',
    `  chain services { ${match} daddr . meta l4proto . th dport vmap @service-ips; }`,
    '  chain nat-prerouting { type nat hook prerouting priority -100; policy accept; jump services; }',
    '  chain nat-output { type nat hook output priority -100; policy accept; jump services; }',
    `  chain service-endpoints-check { ${match} daddr . meta l4proto . th dport vmap @no-endpoint-services; }`,
    '  chain filter-forward { type filter hook forward priority 0; policy accept;',
    '    ct state new jump service-endpoints-check; ct state invalid drop; }',
  ];
  const elements = [];
  for (const s of services) {
    const svc = `service-${hash16(`${s.name}tcp`).slice(0, 8)}-default/${s.name}/tcp/http`;
    // A chain name holds no ':' in nft's grammar: an IPv6 endpoint's colons become '.'.
    const eps = s.endpoints.map((ep) => ({
      ep,
      chain: `endpoint-${hash16(`${s.name}${ep}`).slice(0, 8)}-default/${s.name}/tcp/http__${hostOf(ep).replaceAll(':', '.')}/80`,
    }));
    L.push(
      `  chain ${svc} {`,
      `    ${match} daddr ${s.vip} tcp dport 80 ${match} saddr != ${podCidr} jump mark-for-masquerade;`,
      `    numgen random mod ${eps.length} vmap { ${eps.map((e, k) => `${k} : goto ${e.chain}`).join(', ')} };`,
      '  }',
    );
    for (const { ep, chain } of eps) {
      L.push(
        `  chain ${chain} { ${match} saddr ${hostOf(ep)} jump mark-for-masquerade; meta l4proto tcp dnat to ${ep}; }`,
      );
    }
    elements.push(`${s.vip} . tcp . 80 : goto ${svc}`);
  }
  L.push('}');
  // The map's elements in one statement of their own, as kube-proxy adds them.
  for (let i = 0; i < elements.length; i += 1000) {
    L.push(`add element ${table} kube-proxy service-ips { ${elements.slice(i, i + 1000).join(', ')} }`);
  }
  return `${L.join('\n')}\n`;
}

function slice(service, suffix, family, endpoints) {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: `${service}-${suffix}`,
      namespace: 'default',
      labels: { 'kubernetes.io/service-name': service },
    },
    addressType: family === 'ipv6' ? 'IPv6' : 'IPv4',
    ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
    endpoints: endpoints.map((ep) => ({ addresses: [hostOf(ep)], conditions: { ready: true }, nodeName: 'node1' })),
  };
}

/** Services and EndpointSlices for the agent's manifest directory, as one JSON List: IPv4
 *  Services, or with `v6` (the same Services' IPv6 list) RequireDualStack ones with a slice
 *  per family. */
export function manifestFor(services, v6) {
  const items = [];
  services.forEach((s, i) => {
    const port = { name: 'http', port: 80, targetPort: 80, protocol: 'TCP' };
    const dual = v6
      ? { clusterIPs: [s.vip, v6[i].vip], ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: 'RequireDualStack' }
      : {};
    items.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: s.name, namespace: 'default' },
      spec: { clusterIP: s.vip, ...dual, ports: [port] },
    });
    items.push(slice(s.name, 'abc', 'ipv4', s.endpoints));
    if (v6) items.push(slice(s.name, 'v6', 'ipv6', v6[i].endpoints));
  });
  return JSON.stringify({ apiVersion: 'v1', kind: 'List', items });
}
