// Where the agent pins the tcx links of its tc programs (src/bpf/tcx.ts), one per interface and
// direction, beside the maps under --pin-dir. A pin holds its program on the hook: a pin whose
// interface is gone holds a link the kernel already detached, and is removed.
import { readdirSync } from 'node:fs';
import { forgetTcLink, type TcDirection } from '../bpf/index.js';

const PREFIX = 'tc_link_';

/** The pin of the link on `ifname`'s `direction` hook. */
export function tcLinkPin(pinDir: string, ifname: string, direction: TcDirection): string {
  return `${pinDir}/${PREFIX}${direction}_${ifname}`;
}

/** Removes the pins of links whose interface no longer exists (gone while no agent ran); returns
 *  the interfaces. */
export function forgetGoneTcLinks(pinDir: string, interfaces: readonly string[]): string[] {
  const present = new Set(interfaces);
  const gone: string[] = [];
  for (const name of readdirSync(pinDir)) {
    if (!name.startsWith(PREFIX)) continue;
    const ifname = name.slice(PREFIX.length).replace(/^(ingress|egress)_/, '');
    if (present.has(ifname)) continue;
    forgetTcLink(`${pinDir}/${name}`);
    gone.push(ifname);
  }
  return gone;
}
