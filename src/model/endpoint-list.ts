// A slice's endpoints, kept as columns rather than one object each. The informers hold every
// slice for the agent's whole life: at 10,000 Services × 10 endpoints, 100,000 endpoint objects
// (64 bytes), their address strings (32) and their slices' arrays were ~11 MiB, a fifth of the
// heap. Here an IPv4 endpoint is one number (its address as a u32, times 8, plus its three
// conditions) and its node name (a shared string): 16 bytes. IPv6 addresses, zones and hints
// keep their strings, in columns that exist only when some endpoint has one.
//
// The compiler reads the columns (ip(), ready(), nodeName() ...), so no object or string is made
// per endpoint; everyone else iterates Endpoint objects made on demand (at(), the iterator, map).
import { intToIpv4, ipv4ToInt } from '../net/ipv4.js';
import type { Endpoint } from './types.js';

const READY = 1;
const SERVING = 2;
const TERMINATING = 4;

export class EndpointList implements Iterable<Endpoint> {
  /** By endpoint: (IPv4 address as u32, 0 for IPv6) * 8 + its condition bits. */
  private readonly words: number[];
  /** By endpoint: the IPv6 address, undefined for IPv4 ones; absent when all are IPv4. */
  private readonly v6?: Array<string | undefined>;
  private readonly nodes?: Array<string | undefined>;
  private readonly zones?: Array<string | undefined>;
  private readonly hints?: Array<{ zoneHints?: string[]; nodeHints?: string[] } | undefined>;

  private constructor(eps: readonly Endpoint[]) {
    this.words = eps.map((e) => {
      const ip = ipv4ToInt(e.address);
      const bits = (e.ready ? READY : 0) | (e.serving ? SERVING : 0) | (e.terminating ? TERMINATING : 0);
      return Math.max(ip, 0) * 8 + bits;
    });
    const column = <T>(get: (e: Endpoint) => T | undefined) =>
      eps.some((e) => get(e) !== undefined) ? eps.map(get) : undefined;
    this.v6 = column((e) => (ipv4ToInt(e.address) < 0 ? e.address : undefined));
    this.nodes = column((e) => e.nodeName);
    this.zones = column((e) => e.zone);
    this.hints = column((e) =>
      e.zoneHints || e.nodeHints
        ? { ...(e.zoneHints && { zoneHints: e.zoneHints }), ...(e.nodeHints && { nodeHints: e.nodeHints }) }
        : undefined,
    );
  }

  /** The list of @eps, in their order. */
  static from(eps: readonly Endpoint[]): EndpointList {
    return new EndpointList(eps);
  }

  get length(): number {
    return this.words.length;
  }

  /** Endpoint @i's IPv4 address as an unsigned 32-bit number; -1 when it is IPv6. */
  ip(i: number): number {
    return this.v6?.[i] !== undefined ? -1 : Math.floor(this.words[i]! / 8);
  }

  /** Endpoint @i's address text (made anew for IPv4: the compiler uses ip() instead). */
  address(i: number): string {
    return this.v6?.[i] ?? intToIpv4(Math.floor(this.words[i]! / 8));
  }

  ready(i: number): boolean {
    return (this.words[i]! & READY) !== 0;
  }

  serving(i: number): boolean {
    return (this.words[i]! & SERVING) !== 0;
  }

  terminating(i: number): boolean {
    return (this.words[i]! & TERMINATING) !== 0;
  }

  nodeName(i: number): string | undefined {
    return this.nodes?.[i];
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
