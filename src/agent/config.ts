// The agent's settings: one table of options gives both the command-line flags (kube-proxy's
// names where they mean the same) and the keys of the --config YAML file (the same names in
// camelCase). Flags win over the file, the file over the defaults. Every value is checked by
// the same parser whichever way it came, and a bad one is ONE line naming the flag or key and
// the value (the CLI turns it into exit code 2, like kube-proxy).
import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';
import { existsSync, readFileSync } from 'node:fs';
import type { KubeConnection } from '../k8s/kubeconfig.js';
import { DEFAULT_MAGLEV_TABLE_SIZE } from '../compile/maglev.js';
import type { LbAlgorithm } from '../compile/index.js';
import type { MapSizeSettings } from './map-sizes.js';

export * from './config-values.js';
export * from './flags.js';
import { AGENT_OPTIONS, attributeOf, configKey } from './flags.js';
import {
  ConfigError,
  DEFAULT_BPF_OBJECT,
  DEFAULT_MIN_SYNC_PERIOD_MS,
  DEFAULT_PIN_DIR,
  type BindAddress,
  type SocketLbMode,
} from './config-values.js';

// ---- resolution --------------------------------------------------------------------------------

export type SourceConfig = { kind: 'manifests'; dir: string } | ({ kind: 'kubernetes' } & KubeConnection);

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
  /** --cgroup-root: the cgroup v2 directory socket LB serves (undefined: the unified root). */
  cgroupRoot?: string;
  bpfObject: string;
  logLevel: string;
  /** Run-time map sizes (map-sizes.ts). */
  mapSizes: MapSizeSettings;
  fullSyncPeriodMs: number;
  /** --socket-lb: which namespaces' sockets the cgroup programs serve. */
  socketLb: SocketLbMode;
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
  return (
    Boolean(process.env.KUBERNETES_SERVICE_HOST) && existsSync('/var/run/secrets/kubernetes.io/serviceaccount/token')
  );
}

/**
 * Merges parsed flags with the config file and the defaults, and checks the combination.
 * @param flags commander's parsed values (already checked by AGENT_OPTIONS' parsers)
 * @param fromCli whether a flag was given on the command line (commander's getOptionValueSource)
 */
export function resolveAgentConfig(
  flags: Record<string, unknown>,
  fromCli: (key: string) => boolean,
  env: ResolveEnv = {},
): AgentConfig {
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
    if (kubeconfig !== undefined)
      throw new ConfigError(
        `${where('manifests')} and ${where('kubeconfig')} both given: the agent reads one source, choose one`,
      );
    for (const key of ['apiserverHost', 'apiserverPort']) {
      if (values.has(key))
        throw new ConfigError(
          `${where(key)} "${String(values.get(key))}": only meaningful with the API server as the source, not with ${where('manifests')}`,
        );
    }
    source = { kind: 'manifests', dir: manifests };
  } else {
    if (kubeconfig === undefined && !(env.inCluster ?? inClusterAvailable())) {
      throw new ConfigError(
        'no source: give --manifests DIR or --kubeconfig FILE, or run in a pod with a service account (in-cluster config)',
      );
    }
    source = { kind: 'kubernetes', kubeconfig, apiserverHost, apiserverPort };
  }
  // Pods are found through their host-side veths: without them 'all' would silently mean 'host'.
  if (get<SocketLbMode>('socketLb') === 'all' && get<string>('podDevices') === undefined)
    throw new ConfigError(
      `${where('socketLb')} all: needs --pod-devices, the pods' namespaces are found through their host-side veths`,
    );

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
    cgroupRoot: get<string>('cgroupRoot'),
    bpfObject: get<string>('bpfObject') ?? DEFAULT_BPF_OBJECT,
    logLevel: get<string>('logLevel') ?? 'info',
    mapSizes: {
      bpfLbMapMax: get<number>('bpfLbMapMax'),
      bpfCtGlobalMax: get<number>('bpfCtGlobalMax'),
      bpfMapDynamicSizeRatio: get<number>('bpfMapDynamicSizeRatio'),
    },
    fullSyncPeriodMs: get<number>('fullSyncPeriod') ?? 300_000,
    socketLb: get<SocketLbMode>('socketLb') ?? 'disabled',
    configFile,
  };
}

function readConfig(file: string, readFile = (p: string) => readFileSync(p, 'utf8')): string {
  try {
    return readFile(file);
  } catch (err) {
    throw new ConfigError(
      `--config "${file}": cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
}

/** Parses and checks a config file's text; returns the parsed values by key. */
export function parseConfigFile(file: string, text: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = parseYaml()(text);
  } catch (err) {
    throw new ConfigError(`--config "${file}": not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc))
    throw new ConfigError(`--config "${file}": expected a mapping of settings (key: value)`);
  const specs = new Map(AGENT_OPTIONS.filter((s) => s.flag !== '--config').map((s) => [configKey(s), s]));
  const out: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(doc as Record<string, unknown>)) {
    const spec = specs.get(key);
    if (!spec) throw new ConfigError(`${file}: unknown key "${key}" (known: ${[...specs.keys()].join(', ')})`);
    let text: string;
    if (typeof raw === 'string' || typeof raw === 'number') text = String(raw);
    else if (spec.list && Array.isArray(raw) && raw.every((v) => typeof v === 'string')) text = raw.join(',');
    else
      throw new ConfigError(
        `${file}: ${key}: ${JSON.stringify(raw)}: expected a string${spec.list ? ' or a list of strings' : ''}`,
      );
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

/** The YAML parser, loaded at the first config file: most agents are given none, and the parser
 *  is ~1 MiB of heap (its source text and code) for the agent's life. */
const parseYaml = (): ((text: string) => unknown) => (createRequire(import.meta.url)('yaml') as typeof Yaml).parse;
