// A slice's endpoints, kept as columns rather than one object each. The informers hold every
// slice for the agent's whole life: at 10,000 Services × 10 endpoints, 100,000 endpoint objects
// (64 bytes), their address strings (32) and their slices' arrays were ~11 MiB, a fifth of the
// heap. Here an IPv4 endpoint is one number, 8 bytes: its address as a u32, its three conditions
// and its node name as an index into one table of node names (a cluster has as many as it has
// nodes). IPv6 addresses, zones and hints keep their strings, in columns that exist only when
// some endpoint has one.
//
// The compiler reads the columns (ip(), ready(), nodeName() ...), so no object or string is made
// per endpoint; everyone else iterates Endpoint objects made on demand (at(), the iterator, map).
import { intToIpv4, ipv4ToInt } from '../net/ipv4.js';
import type { Endpoint } from './types.js';

const READY = 1;
const SERVING = 2;
const TERMINATING = 4;

/** A word is ((u32 address * 8) + condition bits) * NODE_SLOTS + node index: at most 2^51, exact
 *  in a double. Index 0 is "no node name". */
const NODE_SLOTS = 0x10000;

/**
 * Node names by index, for every list. Never shrinks (a word names its node by index), so it is
 * bounded: past NODE_SLOTS - 1 names (a cluster that has had that many nodes in the agent's
 * life), a list keeps the names it cannot index in a column of its own. Each name is kept once
 * (as util/shared-names.ts does for the rest).
 */
const NODE_NAMES: string[] = [''];
const NODE_INDEX = new Map<string, number>();

/** The index of node name @name (0: not indexable any more, keep it in a column). */
function nodeIndex(name: string): number {
  const known = NODE_INDEX.get(name);
  if (known !== undefined) return known;
  if (NODE_NAMES.length >= NODE_SLOTS) return 0;
  NODE_INDEX.set(name, NODE_NAMES.length);
  NODE_NAMES.push(name);
  return NODE_NAMES.length - 1;
}

export class EndpointList implements Iterable<Endpoint> {
  /** By endpoint: ((IPv4 address as u32, 0 for IPv6) * 8 + condition bits) * NODE_SLOTS + node. */
  private readonly words: number[];
  /** By endpoint: the IPv6 address, undefined for IPv4 ones; absent when all are IPv4. */
  private readonly v6?: Array<string | undefined>;
  /** Node names NODE_NAMES could not index (see nodeIndex); nearly always absent. */
  private readonly nodes?: Array<string | undefined>;
  private readonly zones?: Array<string | undefined>;
  private readonly hints?: Array<{ zoneHints?: string[]; nodeHints?: string[] } | undefined>;

  private constructor(b: EndpointListBuilder) {
    this.words = b.words;
    if (b.v6) this.v6 = b.v6;
    if (b.nodes) this.nodes = b.nodes;
    if (b.zones) this.zones = b.zones;
    if (b.hints) this.hints = b.hints;
  }

  /** The list of @eps, in their order. */
  static from(eps: readonly Endpoint[]): EndpointList {
    const b = new EndpointListBuilder();
    for (const e of eps)
      b.add(e.address, ipv4ToInt(e.address), e.ready, e.serving, e.terminating, e.nodeName, e.zone, e);
    return b.done();
  }

  /** The list @b built (the builder is not to be used after). */
  static of(b: EndpointListBuilder): EndpointList {
    return new EndpointList(b);
  }

  get length(): number {
    return this.words.length;
  }

  /** Endpoint @i's IPv4 address as an unsigned 32-bit number; -1 when it is IPv6. */
  ip(i: number): number {
    return this.v6?.[i] !== undefined ? -1 : Math.floor(this.words[i]! / (NODE_SLOTS * 8));
  }

  /** Endpoint @i's address text (made anew for IPv4: the compiler uses ip() instead). */
  address(i: number): string {
    return this.v6?.[i] ?? intToIpv4(this.ip(i));
  }

  ready(i: number): boolean {
    return (this.bits(i) & READY) !== 0;
  }

  serving(i: number): boolean {
    return (this.bits(i) & SERVING) !== 0;
  }

  terminating(i: number): boolean {
    return (this.bits(i) & TERMINATING) !== 0;
  }

  nodeName(i: number): string | undefined {
    const node = this.words[i]! % NODE_SLOTS;
    return node !== 0 ? NODE_NAMES[node] : this.nodes?.[i];
  }

  zone(i: number): string | undefined {
    return this.zones?.[i];
  }

  zoneHints(i: number): string[] | undefined {
    return this.hints?.[i]?.zoneHints;
  }

  nodeHints(i: number): string[] | undefined {
    return this.hints?.[i]?.nodeHints;
  }

  private bits(i: number): number {
    return Math.floor(this.words[i]! / NODE_SLOTS) % 8;
  }

  /** Endpoint @i as an object (a new one at each call); undefined past the end. */
  at(i: number): Endpoint | undefined {
    if (i < 0) i += this.length;
    if (i < 0 || i >= this.length) return undefined;
    const ep: Endpoint = {
      address: this.address(i),
      ready: this.ready(i),
      serving: this.serving(i),
      terminating: this.terminating(i),
    };
    const nodeName = this.nodeName(i);
    if (nodeName !== undefined) ep.nodeName = nodeName;
    const zone = this.zone(i);
    if (zone !== undefined) ep.zone = zone;
    const hints = this.hints?.[i];
    if (hints?.zoneHints) ep.zoneHints = hints.zoneHints;
    if (hints?.nodeHints) ep.nodeHints = hints.nodeHints;
    return ep;
  }

  *[Symbol.iterator](): Iterator<Endpoint> {
    for (let i = 0; i < this.length; i++) yield this.at(i)!;
  }

  map<T>(fn: (ep: Endpoint, i: number) => T): T[] {
    const out: T[] = [];
    for (let i = 0; i < this.length; i++) out.push(fn(this.at(i)!, i));
    return out;
  }

  /** As an array of Endpoint objects: what JSON output and the CLI show. */
  toJSON(): Endpoint[] {
    return [...this];
  }
}

/** Builds an EndpointList one endpoint at a time, with no object per endpoint: the parser adds
 *  each one as it reads it. A column other than the words starts at the first endpoint that has
 *  a value for it, with undefined for those before. */
export class EndpointListBuilder {
  readonly words: number[] = [];
  v6?: Array<string | undefined>;
  nodes?: Array<string | undefined>;
  zones?: Array<string | undefined>;
  hints?: Array<{ zoneHints?: string[]; nodeHints?: string[] } | undefined>;

  /** An endpoint: @address, and @ip its value as a u32 (-1: IPv6, kept as text); @hints, when
   *  it has zoneHints or nodeHints. */
  add(
    address: string,
    ip: number,
    ready: boolean,
    serving: boolean,
    terminating: boolean,
    nodeName: string | undefined,
    zone: string | undefined,
    hints: { zoneHints?: string[]; nodeHints?: string[] } | undefined,
  ): void {
    const i = this.words.length;
    const bits = (ready ? READY : 0) | (serving ? SERVING : 0) | (terminating ? TERMINATING : 0);
    const node = nodeName === undefined ? 0 : nodeIndex(nodeName);
    this.words.push((Math.max(ip, 0) * 8 + bits) * NODE_SLOTS + node);
    if (ip < 0) (this.v6 ??= filled(i))[i] = address;
    else if (this.v6) this.v6.push(undefined);
    if (nodeName !== undefined && node === 0) (this.nodes ??= filled(i))[i] = nodeName;
    else if (this.nodes) this.nodes.push(undefined);
    if (zone !== undefined) (this.zones ??= filled(i))[i] = zone;
    else if (this.zones) this.zones.push(undefined);
    const h =
      hints?.zoneHints || hints?.nodeHints
        ? {
            ...(hints.zoneHints && { zoneHints: hints.zoneHints }),
            ...(hints.nodeHints && { nodeHints: hints.nodeHints }),
          }
        : undefined;
    if (h !== undefined) (this.hints ??= filled(i))[i] = h;
    else if (this.hints) this.hints.push(undefined);
  }

  done(): EndpointList {
    return EndpointList.of(this);
  }
}

/** A column for the endpoints before the first that has a value: @n undefined, packed. */
const filled = <T>(n: number): Array<T | undefined> => Array.from({ length: n }, () => undefined);
