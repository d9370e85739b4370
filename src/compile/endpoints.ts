// Endpoint selection for one service port: merge the Service's slices, resolve the backend port
// per slice, then choose which endpoints a backend set holds (kube-proxy's CategorizeEndpoints;
// the topology hints of the cluster set are applied in topology.ts).
import { intToIpv4 } from '../net/ipv4.js';
import { compareIp } from '../net/ipv6.js';
import { resolvePort } from '../model/ports.js';
import type { EndpointSlice, ServicePort } from '../model/types.js';

export interface Candidate {
  /** The IPv4 address as an unsigned 32-bit number (as the slice keeps it), -1 when IPv6. */
  ip: number;
  /** The IPv6 address text; undefined for IPv4 (no text is made: candidateAddr makes it). */
  v6: string | undefined;
  port: number;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  local: boolean;
  /** Topology hints as the slice gave them; undefined: none. */
  zoneHints: string[] | undefined;
  nodeHints: string[] | undefined;
}

/** Every endpoint of the slices with a resolvable port for `sp`, one per addr:port (an endpoint
 *  listed in two slices, as during a slice split, counts once: the most usable copy, the first
 *  of those), in address then port order. Duplicates are found next to each other once sorted,
 *  rather than through a Map keyed by an "addr:port" string per endpoint. IPv4 endpoints that
 *  come already in order without duplicates (one slice, as the controller usually writes it)
 *  are returned as they are: no sort and no second array. */
export function candidates(sp: ServicePort, slices: EndpointSlice[], nodeName: string): Candidate[] {
  const all: Candidate[] = [];
  let ordered = true;
  let prev = -1;
  for (const slice of slices) {
    const port = resolvePort(sp, slice);
    if (port === undefined) continue;
    const eps = slice.endpoints; // columns, read in place (model/endpoint-list.ts)
    for (let i = 0; i < eps.length; i++) {
      const ip = eps.ip(i);
      const key = ip * 0x10000 + port;
      if (ip < 0 || key <= prev) ordered = false;
      prev = key;
      all.push({
        ip,
        v6: ip < 0 ? eps.address(i) : undefined,
        port,
        ready: eps.ready(i),
        serving: eps.serving(i),
        terminating: eps.terminating(i),
        local: nodeName !== '' && eps.nodeName(i) === nodeName,
        zoneHints: eps.zoneHints(i),
        nodeHints: eps.nodeHints(i),
      });
    }
  }
  if (ordered) return all;
  byAddress(all);
  const out: Candidate[] = [];
  for (const c of all) {
    const last = out[out.length - 1];
    if (!last || last.ip !== c.ip || last.v6 !== c.v6 || last.port !== c.port) out.push(c);
    else if (rank(c) > rank(last)) out[out.length - 1] = c;
  }
  return out;
}

/** Sorts @cands in compareIp order, then by port; stable (equal endpoints keep their order).
 *  IPv4 (the common case) on the numbers candidates() parsed, not the text at each comparison. */
function byAddress(cands: Candidate[]): void {
  if (cands.some((c) => c.ip < 0))
    cands.sort((a, b) => compareIp(candidateAddr(a), candidateAddr(b)) || a.port - b.port);
  else cands.sort((a, b) => a.ip - b.ip || a.port - b.port);
}

/** A candidate's address text (made anew for IPv4). */
export const candidateAddr = (c: Candidate): string => c.v6 ?? intToIpv4(c.ip);

const rank = (c: Candidate) => (c.ready ? 4 : 0) + (c.serving ? 2 : 0) + (c.local ? 1 : 0);

/**
 * The endpoints a set holds: the ready ones; if none is ready, the serving-and-terminating ones
 * (KEP-1669: let connections drain to pods that are shutting down rather than refuse them);
 * with publishNotReadyAddresses, every endpoint. The local set applies the same rule to the local
 * endpoints alone, so a node whose local pods are all terminating still serves through them.
 */
export function select(cands: Candidate[], publishNotReady: boolean): Candidate[] {
  if (publishNotReady) return cands;
  const ready = readyOf(cands);
  if (ready.length > 0) return ready;
  return cands.filter((c) => c.serving && c.terminating);
}

/** The ready ones of @cands: @cands itself when all are (nearly always; sets only read it). */
export function readyOf(cands: Candidate[]): Candidate[] {
  for (const c of cands) if (!c.ready) return cands.filter((x) => x.ready);
  return cands;
}
