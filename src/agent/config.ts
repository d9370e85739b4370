// The agent's settings: one table of options gives both the command-line flags (kube-proxy's
// names where they mean the same) and the keys of the --config YAML file (the same names in
// camelCase). Flags win over the file, the file over the defaults. Every value is checked by
// the same parser whichever way it came, and a bad one is ONE line naming the flag or key and
// the value (the CLI turns it into exit code 2, like kube-proxy).
import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_APISERVER_PORT, type KubeConnection } from '../k8s/kubeconfig.js';
import { DEFAULT_MAGLEV_TABLE_SIZE, isPrime, MAX_MAGLEV_TABLE_SIZE } from '../compile/maglev.js';
import type { LbAlgorithm } from '../compile/index.js';
import { parseEntries, parseRatio, type MapSizeSettings } from './map-sizes.js';

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

export interface BindAddress { host: string; port: number }

// ---- value parsers: each takes the text and throws Error(what was expected) -------------------

const DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

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
  if (!m || family === 0 || Number(m[2]) > (family === 4 ? 32 : 128)) throw new Error('expected a CIDR like 10.0.0.0/8');
  return `${m[1]}/${Number(m[2])}`;
}

export function parseCidrList(text: string): string[] {
  const parts = splitList(text);
  if (parts.length === 0) throw new Error('expected a comma-separated list of CIDRs like 10.0.0.0/8,192.168.0.0/16');
  return parts.map((p) => {
    try { return parseCidr(p); } catch { throw new Error(`"${p}" is not a CIDR; expected a list like 10.0.0.0/8,192.168.0.0/16`); }
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

function nonEmpty(text: string): string {
  if (text.trim() === '') throw new Error('must not be empty');
  return text;
}

function splitList(text: string): string[] {
  return text.split(',').map((s) => s.trim()).filter(Boolean);
}

// ---- the option table --------------------------------------------------------------------------

export interface OptionSpec {
  /** The flag, e.g. "--min-sync-period"; its camelCase form is the config-file key. */
  flag: string;
  /** The config-file key when it isn't the flag in camelCase (kube-proxy's spelling). */
  key?: string;
  arg: string;
  help: string;
  parse: (text: string) => unknown;
  /** Default (already parsed) and how help shows it. */
  default?: { value: unknown; shown: string };
  /** The config file may give a YAML list for this comma-separated value. */
  list?: boolean;
}

export const AGENT_OPTIONS: readonly OptionSpec[] = [
  { flag: '--config', arg: '<file>', help: 'YAML file of settings: keys are the flags in camelCase (minSyncPeriod, podDevices, ...); flags override it', parse: nonEmpty },
  { flag: '--manifests', arg: '<dir>', help: 'standalone mode: a directory of Service/EndpointSlice YAML, watched for changes (instead of the API server)', parse: nonEmpty },
  { flag: '--kubeconfig', arg: '<file>', help: 'kubeconfig for the API server; without it and without --manifests the in-cluster config is used', parse: nonEmpty },
  { flag: '--apiserver-host', arg: '<host>', help: 'API server host, overriding the kubeconfig or in-cluster address (in a cluster that address is a ClusterIP this agent itself serves)', parse: parseHost },
  { flag: '--apiserver-port', arg: '<port>', help: `API server port, overriding the kubeconfig\'s (in a cluster with --apiserver-host: default ${DEFAULT_APISERVER_PORT})`, parse: (t) => parsePort(t) },
  { flag: '--hostname-override', arg: '<name>', help: 'this node\'s name, as in EndpointSlices\' nodeName (default: the host name)', parse: nonEmpty },
  { flag: '--nodeport-addresses', arg: '<cidrs>', help: 'comma-separated CIDRs: NodePorts answer only on the --devices addresses inside them (default: every IPv4 address of the --devices interfaces)', parse: parseCidrList, list: true, key: 'nodePortAddresses' },
  { flag: '--cluster-cidr', arg: '<cidrs>', help: 'comma-separated pod CIDRs of the cluster: no Service may claim an address inside them as an externalIP or LB IP', parse: parseCidrList, list: true },
  { flag: '--service-cluster-ip-range', arg: '<cidrs>', help: 'comma-separated Service ClusterIP ranges (the API server\'s flag): no Service may claim an address inside them as an externalIP or LB IP', parse: parseCidrList, list: true, key: 'serviceClusterIpRange' },
  { flag: '--allowed-external-ip-cidrs', arg: '<cidrs>', help: 'comma-separated CIDRs: externalIPs and LB IPs must fall inside one (which also lifts the cluster, Service and node refusals there); loopback, link-local, multicast and unspecified are never accepted', parse: parseCidrList, list: true, key: 'allowedExternalIpCidrs' },
  { flag: '--healthz-bind-address', arg: '<host:port>', help: 'where /healthz and /livez answer; empty disables', parse: parseBindAddress, default: { value: parseBindAddress(DEFAULT_HEALTHZ_BIND_ADDRESS), shown: DEFAULT_HEALTHZ_BIND_ADDRESS } },
  { flag: '--metrics-bind-address', arg: '<host:port>', help: 'where /metrics answers; empty disables', parse: parseBindAddress, default: { value: parseBindAddress(DEFAULT_METRICS_BIND_ADDRESS), shown: DEFAULT_METRICS_BIND_ADDRESS } },
  { flag: '--min-sync-period', arg: '<duration>', help: 'coalesce changes: at most one sync per period (e.g. 100ms, 1s)', parse: parseDuration, default: { value: DEFAULT_MIN_SYNC_PERIOD_MS, shown: `${DEFAULT_MIN_SYNC_PERIOD_MS}ms` } },
  {
    flag: '--lb-algorithm', arg: '<name>',
    help: 'backend selection for Services without the switchyard.io/lb-algorithm annotation: random, or maglev '
      + '(consistent hashing: the same backend for a flow on every node)',
    parse: parseLbAlgorithm, default: { value: 'random', shown: 'random' },
  },
  {
    flag: '--maglev-table-size', arg: '<prime>',
    help: 'entries of each Maglev lookup table, a prime (about 100 x the largest backend count keeps shares within 1%)',
    parse: parseMaglevTableSize,
    default: { value: DEFAULT_MAGLEV_TABLE_SIZE, shown: String(DEFAULT_MAGLEV_TABLE_SIZE) },
  },
  { flag: '--pod-devices', arg: '<globs>', help: 'comma-separated interface globs of pod veths (host side), e.g. "lxc*,veth*"', parse: parseGlobs, list: true },
  { flag: '--devices', arg: '<globs>', help: 'comma-separated interface globs of the node\'s uplinks, for NodePort traffic from outside, e.g. "eth0,ens*"', parse: parseGlobs, list: true },
  { flag: '--pin-dir', arg: '<dir>', help: 'bpffs directory for the pinned maps', parse: nonEmpty, default: { value: DEFAULT_PIN_DIR, shown: DEFAULT_PIN_DIR } },
  { flag: '--bpf-object', arg: '<file>', help: 'the compiled data-path object', parse: nonEmpty, default: { value: DEFAULT_BPF_OBJECT, shown: DEFAULT_BPF_OBJECT } },
  { flag: '--bpf-lb-map-max', arg: '<entries>', help: 'entries of the frontends and affinity maps; backends and slots get 4× (default 65536)', parse: parseEntries },
  { flag: '--bpf-ct-global-max', arg: '<entries>', help: 'entries of the conntrack map (default 262144, or from --bpf-map-dynamic-size-ratio)', parse: parseEntries },
  { flag: '--bpf-map-dynamic-size-ratio', arg: '<ratio>', help: 'share of total memory (0 < ratio ≤ 1) that sizes conntrack and affinity when not given explicitly', parse: parseRatio },
  { flag: '--full-sync-period', arg: '<duration>', help: 'how often the maps are read back and fully re-synced (partial syncs in between); 0 disables', parse: parseDuration, default: { value: 300_000, shown: '5m' } },
  { flag: '--log-level', arg: '<level>', help: `one of ${LOG_LEVELS.join(', ')}`, parse: parseLogLevel, default: { value: 'info', shown: 'info' } },
];

/** "--min-sync-period" → "minSyncPeriod": the commander attribute of a flag. */
export function attributeOf(flag: string): string {
  return flag.replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** The config-file key of an option, also the key of AgentConfig's intermediate values. */
export function configKey(spec: OptionSpec): string {
  return spec.key ?? attributeOf(spec.flag);
}

// ---- resolution --------------------------------------------------------------------------------

export type SourceConfig =
  | { kind: 'manifests'; dir: string }
  | ({ kind: 'kubernetes' } & KubeConnection);

export interface AgentConfig {
  source: SourceConfig;
  hostnameOverride?: string;
  nodePortAddresses: string[];
  clusterCidr: string[];
  serviceClusterIpRange: string[];
  allowedExternalIpCidrs: string[];
  healthzBindAddress: BindAddress | null;
  metricsBindAddress: BindAddress | null;
  minSyncPeriodMs: number;
  lbAlgorithm: LbAlgorithm;
  maglevTableSize: number;
  podDevices?: string;
  devices?: string;
  pinDir: string;
  bpfObject: string;
  logLevel: string;
  /** Run-time map sizes (map-sizes.ts). */
  mapSizes: MapSizeSettings;
  fullSyncPeriodMs: number;
  /** The config file read, if any. */
  configFile?: string;
}

/** Where each value came from, for error messages: "--manifests" or "cfg.yaml: manifests". */
type Origins = Map<string, string>;

export interface ResolveEnv {
  readFile?: (path: string) => string;
  /** True when running in a pod with a service account (the in-cluster config is usable). */
  inCluster?: boolean;
}

export function inClusterAvailable(): boolean {
  return Boolean(process.env.KUBERNETES_SERVICE_HOST) && existsSync('/var/run/secrets/kubernetes.io/serviceaccount/token');
}

/**
 * Merges parsed flags with the config file and the defaults, and checks the combination.
 * @param flags commander's parsed values (already checked by AGENT_OPTIONS' parsers)
 * @param fromCli whether a flag was given on the command line (commander's getOptionValueSource)
 */
export function resolveAgentConfig(flags: Record<string, unknown>, fromCli: (key: string) => boolean, env: ResolveEnv = {}): AgentConfig {
  const values = new Map<string, unknown>();
  const origins: Origins = new Map();
  const configFile = typeof flags.config === 'string' ? flags.config : undefined;
  if (configFile) {
    const text = readConfig(configFile, env.readFile);
    for (const [key, value] of Object.entries(parseConfigFile(configFile, text))) {
      values.set(key, value);
      origins.set(key, `${configFile}: ${key}`);
    }
  }
  for (const spec of AGENT_OPTIONS) {
    const key = configKey(spec);
    const attr = attributeOf(spec.flag);
    if (fromCli(attr) && flags[attr] !== undefined) {
      values.set(key, flags[attr]);
      origins.set(key, spec.flag);
    } else if (!values.has(key) && spec.default) {
      values.set(key, spec.default.value);
    }
  }
  const get = <T>(key: string) => values.get(key) as T | undefined;
  const flagOf = new Map(AGENT_OPTIONS.map((s) => [configKey(s), s.flag]));
  const where = (key: string) => origins.get(key) ?? flagOf.get(key) ?? key;

  const manifests = get<string>('manifests');
  const kubeconfig = get<string>('kubeconfig');
  const apiserverHost = get<string>('apiserverHost');
  const apiserverPort = get<number>('apiserverPort');
  let source: SourceConfig;
  if (manifests !== undefined) {
    if (kubeconfig !== undefined) throw new ConfigError(`${where('manifests')} and ${where('kubeconfig')} both given: the agent reads one source, choose one`);
    for (const key of ['apiserverHost', 'apiserverPort']) {
      if (values.has(key)) throw new ConfigError(`${where(key)} "${String(values.get(key))}": only meaningful with the API server as the source, not with ${where('manifests')}`);
    }
    source = { kind: 'manifests', dir: manifests };
  } else {
    if (kubeconfig === undefined && !(env.inCluster ?? inClusterAvailable())) {
      throw new ConfigError('no source: give --manifests DIR or --kubeconfig FILE, or run in a pod with a service account (in-cluster config)');
    }
    source = { kind: 'kubernetes', kubeconfig, apiserverHost, apiserverPort };
  }

  return {
    source,
    hostnameOverride: get<string>('hostnameOverride'),
    nodePortAddresses: get<string[]>('nodePortAddresses') ?? [],
    clusterCidr: get<string[]>('clusterCidr') ?? [],
    serviceClusterIpRange: get<string[]>('serviceClusterIpRange') ?? [],
    allowedExternalIpCidrs: get<string[]>('allowedExternalIpCidrs') ?? [],
    healthzBindAddress: get<BindAddress | false>('healthzBindAddress') || null,
    metricsBindAddress: get<BindAddress | false>('metricsBindAddress') || null,
    minSyncPeriodMs: get<number>('minSyncPeriod') ?? DEFAULT_MIN_SYNC_PERIOD_MS,
    lbAlgorithm: get<LbAlgorithm>('lbAlgorithm') ?? 'random',
    maglevTableSize: get<number>('maglevTableSize') ?? DEFAULT_MAGLEV_TABLE_SIZE,
    podDevices: get<string>('podDevices'),
    devices: get<string>('devices'),
    pinDir: get<string>('pinDir') ?? DEFAULT_PIN_DIR,
    bpfObject: get<string>('bpfObject') ?? DEFAULT_BPF_OBJECT,
    logLevel: get<string>('logLevel') ?? 'info',
    mapSizes: {
      bpfLbMapMax: get<number>('bpfLbMapMax'), bpfCtGlobalMax: get<number>('bpfCtGlobalMax'),
      bpfMapDynamicSizeRatio: get<number>('bpfMapDynamicSizeRatio'),
    },
    fullSyncPeriodMs: get<number>('fullSyncPeriod') ?? 300_000,
    configFile,
  };
}

function readConfig(file: string, readFile = (p: string) => readFileSync(p, 'utf8')): string {
  try {
    return readFile(file);
  } catch (err) {
    throw new ConfigError(`--config "${file}": cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** Parses and checks a config file's text; returns the parsed values by key. */
export function parseConfigFile(file: string, text: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`--config "${file}": not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError(`--config "${file}": expected a mapping of settings (key: value)`);
  const specs = new Map(AGENT_OPTIONS.filter((s) => s.flag !== '--config').map((s) => [configKey(s), s]));
  const out: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(doc as Record<string, unknown>)) {
    const spec = specs.get(key);
    if (!spec) throw new ConfigError(`${file}: unknown key "${key}" (known: ${[...specs.keys()].join(', ')})`);
    let text: string;
    if (typeof raw === 'string' || typeof raw === 'number') text = String(raw);
    else if (spec.list && Array.isArray(raw) && raw.every((v) => typeof v === 'string')) text = raw.join(',');
    else throw new ConfigError(`${file}: ${key}: ${JSON.stringify(raw)}: expected a string${spec.list ? ' or a list of strings' : ''}`);
    try {
      out[key] = spec.parse(text);
    } catch (err) {
      throw new ConfigError(`${file}: ${key}: "${text}": ${(err as Error).message}`);
    }
  }
  return out;
}

/** kube-proxy's rule, adapted: unhealthy when a change has waited longer than this. kube-proxy
 *  uses 2 × its sync period; our syncs are event-driven, so 2 × min-sync-period with a 10 s floor
 *  (a burst of changes or a slow map write must not flap the probe). */
export function healthTimeoutMs(minSyncPeriodMs: number): number {
  return Math.max(2 * minSyncPeriodMs, 10_000);
}
