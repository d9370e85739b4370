// What connect() to an address from this namespace would meet now, read from this node's pins:
// the check ApiRoute (api-route.ts) makes before it moves the API connection to the Service
// address. Apart from api-route.ts because it loads libbpf.
import { existsSync } from 'node:fs';
import { IPPROTO_TCP, SCOPE_INTERNAL } from '../abi/constants.js';
import { frontend, frontendKey, serviceInfo, u32, u64 } from '../abi/layouts.js';
import { sockNetns } from '../abi/sock.js';
import { currentNetnsCookie, openPinnedMap } from '../bpf/index.js';
import type { ServiceState } from './api-route.js';
import { sockLinkPin } from './socklb.js';

/**
 * The check against this node's pins: socket LB attached (its connect4 link pinned) and serving
 * this namespace (its netns cookie in sock_netns), and an internal-scope TCP frontend for the
 * address with endpoints. Read from the pins, so it works before the agent's first sync and
 * says the same as what connect() would meet.
 */
export function pinnedServiceCheck(pinDir: string): (addr: string, port: number) => ServiceState {
  return (addr, port) => {
    if (!existsSync(sockLinkPin(pinDir, 'connect4'))) return { ok: false, why: 'socket LB is not attached' };
    try {
      const netns = openPinnedMap(`${pinDir}/sock_netns`, u64, sockNetns);
      const served = withClose(netns, () => netns.get(currentNetnsCookie()) !== undefined);
      if (!served) return { ok: false, why: 'socket LB does not serve this network namespace' };
      const fes = openPinnedMap(`${pinDir}/frontends`, frontendKey, frontend);
      const fe = withClose(fes, () => fes.get({ addr, port, proto: IPPROTO_TCP, scope: SCOPE_INTERNAL }));
      if (!fe) return { ok: false, why: `no Service has ${addr}:${port}/TCP` };
      const info = openPinnedMap(`${pinDir}/service_info`, u32, serviceInfo);
      const name = withClose(info, () => info.get(fe.svcId)?.name) ?? `svc_id ${fe.svcId}`;
      if (fe.count === 0) return { ok: false, why: `${name} has no endpoints` };
      return { ok: true, service: name };
    } catch (err) {
      return { ok: false, why: `cannot read the pinned maps in ${pinDir}: ${(err as Error).message}` };
    }
  };
}

function withClose<T>(m: { close(): void }, fn: () => T): T {
  try {
    return fn();
  } finally {
    m.close();
  }
}
