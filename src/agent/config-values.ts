import { isIP } from 'node:net';
import { isPrime, MAX_MAGLEV_TABLE_SIZE } from '../compile/maglev.js';
import type { LbAlgorithm } from '../compile/index.js';
import { canonicalIp } from '../net/ipv6.js';

export const DEFAULT_PIN_DIR = '/sys/fs/bpf/switchyard';
export const DEFAULT_BPF_OBJECT = new URL('../../build/bpf/switchyard.o', import.meta.url).pathname;
export const DEFAULT_HEALTHZ_BIND_ADDRESS = '0.0.0.0:10256';
export const DEFAULT_METRICS_BIND_ADDRESS = '127.0.0.1:10249';
export const DEFAULT_MIN_SYNC_PERIOD_MS = 100;
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

/** A bad setting. The message is one line and names the flag or key and the value. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export interface BindAddress {
  host: string;
  port: number;
}

// ---- value parsers: each takes the text and throws Error(what was expected) -------------------

const DURATION_UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Go-style durations as kube-proxy takes them ("1s", "500ms", "1m30s", "0"); returns ms. */
export function parseDuration(text: string): number {
  const t = text.trim();
  if (t === '0') return 0;
  if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(t)) throw new Error('expected a duration like 1s, 500ms or 1m30s');
  let ms = 0;
  for (const m of t.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) ms += Number(m[1]) * DURATION_UNITS[m[2]];
  return ms;
}

export function parsePort(text: string, { allowZero = false } = {}): number {
  const n = /^\d+$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!(n >= (allowZero ? 0 : 1) && n <= 65535)) throw new Error(`expected a port number ${allowZero ? 0 : 1}..65535`);
  return n;
}

/** "IP:port", "[IPv6]:port", "host:port" or ":port" (all IPv4 interfaces); "" disables the
 *  server (→ false: commander would turn a null from a parser into ''). */
export function parseBindAddress(text: string): BindAddress | false {
  const t = text.trim();
  if (t === '') return false;
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d+)$/.exec(t);
  if (!m) throw new Error('expected IP:port or host:port, e.g. 0.0.0.0:10256 (empty disables)');
  const host = m[1] ?? (m[2] || '0.0.0.0');
  const ok = m[1] ? isIP(host) === 6 : /^[\d.]+$/.test(host) ? isIP(host) === 4 : isHostName(host);
  if (!ok) throw new Error('expected IP:port or host:port with a valid address, e.g. 0.0.0.0:10256');
  return { host, port: parsePort(m[3], { allowZero: true }) };
}

function isHostName(text: string): boolean {
  return /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(text);
}

export function parseCidr(text: string): string {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(text.trim());
  const family = m ? isIP(m[1]) : 0;
  if (!m || family === 0 || Number(m[2]) > (family === 4 ? 32 : 128))
    throw new Error('expected a CIDR like 10.0.0.0/8');
  return `${canonicalIp(m[1])}/${Number(m[2])}`;
}

/** kube-proxy's --cluster-cidr: a list with at most one CIDR per family ("10.244.0.0/16,fd10::/56"). */
export function parseCidrPerFamily(text: string): string[] {
  const cidrs = parseCidrList(text);
  const v6 = cidrs.filter((c) => c.includes(':'));
  if (v6.length > 1 || cidrs.length - v6.length > 1) {
    throw new Error(`expected at most one CIDR per IP family, like 10.244.0.0/16,fd10::/56 (got ${cidrs.join(',')})`);
  }
  return cidrs;
}

export function parseCidrList(text: string): string[] {
  const parts = splitList(text);
  if (parts.length === 0) throw new Error('expected a comma-separated list of CIDRs like 10.0.0.0/8,192.168.0.0/16');
  return parts.map((p) => {
    try {
      return parseCidr(p);
    } catch {
      throw new Error(`"${p}" is not a CIDR; expected a list like 10.0.0.0/8,192.168.0.0/16`);
    }
  });
}

/** Interface-name globs ("lxc*,veth*"): checked here, matched by src/agent/devices.ts. */
export function parseGlobs(text: string): string {
  const parts = splitList(text);
  if (parts.length === 0 || parts.some((p) => !/^[^\s/]{1,15}$/.test(p))) {
    throw new Error('expected comma-separated interface-name globs like "veth*,lxc*"');
  }
  return parts.join(',');
}

export function parseHost(text: string): string {
  const t = text.trim();
  if (isIP(t) || (!/^[\d.]+$/.test(t) && isHostName(t))) return t;
  throw new Error('expected a host name or IP address (no scheme, no port)');
}

export function parseLogLevel(text: string): string {
  if (!(LOG_LEVELS as readonly string[]).includes(text)) throw new Error(`expected one of ${LOG_LEVELS.join(', ')}`);
  return text;
}

export function parseLbAlgorithm(text: string): LbAlgorithm {
  if (text !== 'random' && text !== 'maglev') throw new Error('expected random or maglev');
  return text;
}

/** Maglev's permutations need a prime table size; the slot index is 16 bits. */
export function parseMaglevTableSize(text: string): number {
  const n = /^\d+$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!isPrime(n) || n > MAX_MAGLEV_TABLE_SIZE) {
    throw new Error(`expected a prime ≤ ${MAX_MAGLEV_TABLE_SIZE}, e.g. 16381 or 65521`);
  }
  return n;
}

export function nonEmpty(text: string): string {
  if (text.trim() === '') throw new Error('must not be empty');
  return text;
}

export function splitList(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** --socket-lb: which namespaces' sockets the cgroup programs serve: none, the node's own, or
 *  the node's and its pods' (found through the --pod-devices veths). */
export type SocketLbMode = 'disabled' | 'host' | 'all';
export function parseSocketLb(text: string): SocketLbMode {
  if (text !== 'disabled' && text !== 'host' && text !== 'all') throw new Error('expected disabled, host or all');
  return text;
}
