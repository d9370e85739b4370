// The demo's IPv6 round (issue 15): in a dual-stack or IPv6 lab, the same Service over its IPv6
// cluster IP from the same client, spread over the same pods (their IPv6 addresses). A data path
// whose programs do not look IPv6 frontends up cannot serve it: then the round says so instead.
import { addrPort } from '../net/ipv6.js';
import { servesIpv6 } from './lab-elf.js';
import { REPO_ROOT } from './lab-state.js';

const DATA_PATH_OBJECT = `${REPO_ROOT}/build/bpf/switchyard.o`;
import type { Lab } from './lab.js';
import { probeIn, tally } from './lab-demo.js';
import type { PodStatus, ServiceStatus } from './lab-status.js';

/** Returns the failures it saw. */
export async function ipv6Round(
  _lab: Lab,
  say: (line: string) => void,
  client: PodStatus,
  svc: ServiceStatus,
  count: number,
  byName: Map<string, PodStatus>,
): Promise<number> {
  const v6 = svc.clusterIPs?.find((a) => a.includes(':'));
  if (!v6) return 0; // an IPv4 lab, or a SingleStack Service: nothing to show
  const url = `http://${addrPort(v6, svc.ports[0]!.port)}/hostname.html`;
  if (!servesIpv6(DATA_PATH_OBJECT)) {
    say(`      IPv6: ${url} not tried: no program of ${DATA_PATH_OBJECT} looks up frontends6 yet`);
    return 0;
  }
  say(`      IPv6: ${count} new connections from ${client.name} to ${url}, the same pods by their IPv6 addresses`);
  const r = await probeIn(client.netns, ['http', url, '--count', String(count), '--timeout-ms', '1500']);
  tally(say, r, byName, { ...svc, endpoints: svc.endpoints6 ?? [] });
  return r.failed;
}
