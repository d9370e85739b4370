// Backend ids by identity (svc id, endpoint address, port), with no string or object per backend:
// an IPv4 identity is three numbers, kept in typed arrays by id and found through a hash table of
// id chains. At 10,000 Services × 10 endpoints this replaces two Maps of 100,000 entries and
// 100,000 identity strings (~60 bytes each, built and hashed at every cold start). IPv6 endpoints,
// whose address is no number, keep a string key in a Map of their own.
import { intToIpv4, ipv4ToInt } from '../net/ipv4.js';
import { addrPort } from '../net/ipv6.js';
import { IdSpace, type IdNamespace } from './id-space.js';

/** The svc id of a reservation (see reserve): no service port has id 0. */
const RESERVED = 0;

export class BackendSpace extends IdSpace {
  /** By id: the service port, IPv4 address (as u32) and port of an IPv4 identity. */
  private svcOf = new Int32Array(256);
  private ipOf = new Uint32Array(256);
  private portOf = new Int32Array(256);
  /** By id: the next id in the same hash bucket (0: none). */
  private next = new Int32Array(256);
  /** Hash bucket → first id (0: empty); a power of two, kept ≥ the bound ids. */
  private heads = new Int32Array(256);
  /** IPv6 identities: key (svc id and [addr]:port) → id, and id → key. */
  private readonly v6 = new Map<string, number>();
  private readonly v6Of = new Map<number, string>();

  constructor(
    limit: number,
    exhausted: (ns: IdNamespace, limit: number) => Error,
    /** The identity text of a svc id (for text()). */
    private readonly svcText: (svcId: number) => string | undefined,
  ) {
    super('backend', limit, exhausted);
  }

  /** The id of the endpoint @addr:@port of service port @svcId, allocating one if it has none.
   *  @ip: @addr already parsed (ipv4ToInt; -1 for IPv6), so it is not parsed twice. */
  take(svcId: number, addr: string, port: number, ip = addr.includes(':') ? -1 : ipv4ToInt(addr)): number {
    const id = ip < 0 ? this.find(svcId, addr, port) : this.findV4(svcId, ip, port);
    if (id !== undefined) return this.use(id);
    const fresh = this.allocate();
    if (ip < 0) this.bind(svcId, addr, port, fresh);
    else this.link(svcId, ip, port, fresh);
    return fresh;
  }

  find(svcId: number, addr: string, port: number): number | undefined {
    if (addr.includes(':')) return this.v6.get(v6Key(svcId, addr, port));
    return this.findV4(svcId, ipv4ToInt(addr), port);
  }

  seed(svcId: number, addr: string, port: number, id: number): void {
    const text = `${this.svcText(svcId) ?? `svc ${svcId}`}@${addrPort(addr, port)}`;
    if (!this.seedable(id, this.find(svcId, addr, port), text)) this.bind(svcId, addr, port, id);
  }

  /** Holds @id under a placeholder identity no endpoint has (restart: an id the pinned maps use). */
  reserve(id: number): void {
    if (!this.seedable(id, this.findV4(RESERVED, id >>> 0, 0), `<pinned backend ${id}>`))
      this.link(RESERVED, id, 0, id);
  }

  /** The service port whose identity @id is (undefined for a reservation or a free id). */
  svcIdOf(id: number): number | undefined {
    if (!this.has(id)) return undefined;
    const key = this.v6Of.get(id);
    const svc = key !== undefined ? Number(key.slice(0, key.indexOf(' '))) : this.svcOf[id]!;
    return svc === RESERVED ? undefined : svc;
  }

  text(id: number): string {
    const key = this.v6Of.get(id);
    if (key !== undefined) {
      const sp = key.indexOf(' ');
      return `${this.svcText(Number(key.slice(0, sp))) ?? '?'}@${key.slice(sp + 1)}`;
    }
    const svc = this.svcOf[id]!;
    if (svc === RESERVED) return `<pinned backend ${id}>`;
    return `${this.svcText(svc) ?? '?'}@${intToIpv4(this.ipOf[id]!)}:${this.portOf[id]}`;
  }

  protected unbind(id: number): void {
    const key = this.v6Of.get(id);
    if (key !== undefined) {
      this.v6.delete(key);
      this.v6Of.delete(id);
      return;
    }
    const b = this.bucket(this.svcOf[id]!, this.ipOf[id]!, this.portOf[id]!);
    if (this.heads[b] === id) this.heads[b] = this.next[id]!;
    else
      for (let p = this.heads[b]!; p !== 0; p = this.next[p]!) if (this.next[p] === id) this.next[p] = this.next[id]!;
    this.next[id] = 0;
  }

  private bind(svcId: number, addr: string, port: number, id: number): void {
    if (!addr.includes(':')) {
      this.link(svcId, ipv4ToInt(addr), port, id);
      return;
    }
    const key = v6Key(svcId, addr, port);
    this.v6.set(key, id);
    this.v6Of.set(id, key);
  }

  private findV4(svc: number, ip: number, port: number): number | undefined {
    for (let id = this.heads[this.bucket(svc, ip, port)]!; id !== 0; id = this.next[id]!) {
      if (this.svcOf[id] === svc && this.ipOf[id] === ip && this.portOf[id] === port) return id;
    }
    return undefined;
  }

  private link(svc: number, ip: number, port: number, id: number): void {
    if (id >= this.svcOf.length) this.growById(id);
    this.svcOf[id] = svc;
    this.ipOf[id] = ip;
    this.portOf[id] = port;
    const b = this.bucket(svc, ip, port);
    this.next[id] = this.heads[b]!;
    this.heads[b] = id;
    if (this.size > this.heads.length) this.rehash(this.heads.length * 2);
  }

  private bucket(svc: number, ip: number, port: number): number {
    let h = Math.imul(ip ^ (port << 16), 0x9e3779b1);
    h = Math.imul(h ^ svc ^ (h >>> 15), 0x85ebca6b);
    return (h ^ (h >>> 13)) & (this.heads.length - 1);
  }

  private rehash(buckets: number): void {
    this.heads = new Int32Array(buckets);
    // Every IPv4 id is below svcOf.length (link grows it); a loop, not the ids() generator, and
    // no v6Of lookup per id when there is no IPv6 identity: a cold start rehashes ~10 times.
    const v6 = this.v6Of.size > 0;
    for (let id = 1; id < this.svcOf.length; id++) {
      if (!this.has(id) || (v6 && this.v6Of.has(id))) continue;
      const b = this.bucket(this.svcOf[id]!, this.ipOf[id]!, this.portOf[id]!);
      this.next[id] = this.heads[b]!;
      this.heads[b] = id;
    }
  }

  private growById(id: number): void {
    const n = Math.max(id + 1, this.svcOf.length * 2);
    const grow = <T extends Int32Array | Uint32Array>(a: T, make: (n: number) => T): T => {
      const b = make(n);
      b.set(a);
      return b;
    };
    this.svcOf = grow(this.svcOf, (k) => new Int32Array(k));
    this.ipOf = grow(this.ipOf, (k) => new Uint32Array(k));
    this.portOf = grow(this.portOf, (k) => new Int32Array(k));
    this.next = grow(this.next, (k) => new Int32Array(k));
  }
}

const v6Key = (svcId: number, addr: string, port: number) => [svcId, ' ', addrPort(addr, port)].join('');
