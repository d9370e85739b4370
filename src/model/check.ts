// Small field readers shared by the object parsers. Each reader takes the raw value and the field
// path, records a problem on the Checker when the value is wrong, and returns undefined then, so a
// parser can keep going and report every bad field of an object at once.
import { isIPv4 } from 'node:net';
import { canonicalIpv6 } from '../net/ipv6.js';

export type Raw = Record<string, unknown>;

export interface FieldProblem {
  field: string;
  message: string;
}

export class Checker {
  readonly problems: FieldProblem[] = [];

  fail(field: string, message: string): undefined {
    this.problems.push({ field, message });
    return undefined;
  }

  get ok(): boolean {
    return this.problems.length === 0;
  }

  /** An optional object: absent/null → {} ; anything else but a plain object → problem. */
  object(value: unknown, field: string): Raw | undefined {
    if (value === undefined || value === null) return {};
    if (!isObject(value)) return this.fail(field, `must be an object (got ${show(value)})`);
    return value;
  }

  /** An optional list: absent/null → [] ; anything else but an array → problem. */
  array(value: unknown, field: string): unknown[] | undefined {
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) return this.fail(field, `must be a list (got ${show(value)})`);
    return value;
  }

  /** An optional string: absent/null → fallback. */
  string(value: unknown, field: string, fallback: string): string | undefined {
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'string') return this.fail(field, `must be a string (got ${show(value)})`);
    return value;
  }

  /** A string from a fixed set; absent/null/'' → fallback. */
  oneOf<T extends string>(value: unknown, field: string, allowed: readonly T[], fallback: T): T | undefined {
    if (value === undefined || value === null || value === '') return fallback;
    if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
    return this.fail(field, `must be one of ${allowed.join(', ')} (got ${show(value)})`);
  }

  /** An integer in [min, max]. Absent/null → undefined without a problem unless required. */
  int(value: unknown, field: string, min: number, max: number, required = false): number | undefined {
    if (value === undefined || value === null) {
      return required ? this.fail(field, `is required: an integer ${min}..${max}`) : undefined;
    }
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      return this.fail(field, `must be an integer ${min}..${max} (got ${show(value)})`);
    }
    return value;
  }

  bool(value: unknown, field: string): boolean | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'boolean') return this.fail(field, `must be true or false (got ${show(value)})`);
    return value;
  }

  /** An IP address, either family, in canonical text (RFC 5952 for IPv6: one spelling per
   *  address, so map keys, claims and dedupe compare text). */
  ip(value: unknown, field: string): { addr: string; v6: boolean } | undefined {
    if (typeof value === 'string') {
      if (isIPv4(value)) return { addr: value, v6: false };
      const v6 = canonicalIpv6(value);
      if (v6) return { addr: v6, v6: true };
    }
    return this.fail(field, `must be an IPv4 or IPv6 address (got ${show(value)})`);
  }

  /** A CIDR "addr/len", either family (host bits may be set, as Go's ParseCIDR allows). */
  cidr(value: unknown, field: string): { cidr: string; v6: boolean } | undefined {
    if (typeof value === 'string') {
      const s = value.trim();
      const slash = s.indexOf('/');
      const addr = slash < 0 ? s : s.slice(0, slash);
      const len = slash < 0 ? NaN : Number(s.slice(slash + 1));
      const lenOk = (max: number) => slash > 0 && /^\d{1,3}$/.test(s.slice(slash + 1)) && len <= max;
      if (isIPv4(addr) && lenOk(32)) return { cidr: `${addr}/${len}`, v6: false };
      const v6 = canonicalIpv6(addr);
      if (v6 && lenOk(128)) return { cidr: `${v6}/${len}`, v6: true };
    }
    return this.fail(field, `must be a CIDR such as 203.0.113.0/24 (got ${show(value)})`);
  }

  /** string → string map (labels, annotations). */
  stringMap(value: unknown, field: string): Record<string, string> | undefined {
    const obj = this.object(value, field);
    if (!obj) return undefined;
    const out: Record<string, string> = {};
    // for-in, not Object.entries: no array per entry (two maps per object; JSON has no inherited keys).
    for (const k in obj) {
      const v = obj[k];
      if (typeof v !== 'string') return this.fail(`${field}.${k}`, `must be a string (got ${show(v)})`);
      out[k] = v;
    }
    return out;
  }
}

/** What node:net's isIPv4 accepts (four decimal parts 0..255, no leading zeros), without its
 *  regular expression: every endpoint address of every slice goes through it. */
export function isDottedQuad(s: string): boolean {
  let parts = 0;
  let i = 0;
  while (i < s.length) {
    const start = i;
    let v = 0;
    for (; i < s.length && i - start < 4; i++) {
      const d = s.charCodeAt(i) - 48;
      if (d < 0 || d > 9) break;
      v = v * 10 + d;
    }
    const n = i - start;
    if (n === 0 || n > 3 || v > 255 || (n > 1 && s.charCodeAt(start) === 48)) return false;
    if (++parts === 4) return i === s.length;
    if (s.charCodeAt(i) !== 46) return false;
    i++;
  }
  return false;
}

export function isObject(value: unknown): value is Raw {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A value as a message shows it: strings quoted, long things cut. */
export function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  let s: string;
  try {
    s = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  } catch {
    s = String(value);
  }
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** RFC 1123 DNS label, as Kubernetes requires for port names. */
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** IANA_SVC_NAME: 1-15 chars of [a-z0-9-], at least one letter, no leading/trailing/double '-'. */
export function isIanaSvcName(s: string): boolean {
  return (
    s.length >= 1 && s.length <= 15 && /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(s) && !s.includes('--') && /[a-z]/.test(s)
  );
}

/** The one empty list every model object shares (most Services have no externalIPs, no
 *  loadBalancerIPs and no source ranges: 32 bytes each, 30,000 at 10,000 Services). Frozen: a
 *  model object is never changed after its parse, and a push here would throw, not leak. */
const NONE: readonly never[] = Object.freeze([]);

/** @xs in an array of its exact length, for arrays the model keeps for an object's life: one
 *  grown by push() from empty holds 17 slots (an Endpoint list of 10, 17), and the model has a
 *  few per Service and slice, 10,000s of each in a large cluster. An empty one is NONE. */
export function exact<T>(xs: T[]): T[] {
  return xs.length === 0 ? (NONE as never[]) : xs.slice();
}
