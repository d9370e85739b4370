import { DEFAULT_APISERVER_PORT } from '../k8s/kubeconfig.js';
import { DEFAULT_MAGLEV_TABLE_SIZE } from '../compile/maglev.js';
import { parseEntries, parseRatio } from './map-sizes.js';

import {
  DEFAULT_BPF_OBJECT,
  DEFAULT_HEALTHZ_BIND_ADDRESS,
  DEFAULT_METRICS_BIND_ADDRESS,
  DEFAULT_MIN_SYNC_PERIOD_MS,
  DEFAULT_PIN_DIR,
  LOG_LEVELS,
  nonEmpty,
  parseBindAddress,
  parseCidrList,
  parseCidrPerFamily,
  parseDuration,
  parseGlobs,
  parseHost,
  parseLbAlgorithm,
  parseLogLevel,
  parseMaglevTableSize,
  parseSocketLb,
  parsePort,
} from './config-values.js';

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
  {
    flag: '--config',
    arg: '<file>',
    help: 'YAML file of settings: keys are the flags in camelCase (minSyncPeriod, podDevices, ...); flags override it',
    parse: nonEmpty,
  },
  {
    flag: '--manifests',
    arg: '<dir>',
    help: 'standalone mode: a directory of Service/EndpointSlice YAML, watched for changes (instead of the API server)',
    parse: nonEmpty,
  },
  {
    flag: '--kubeconfig',
    arg: '<file>',
    help: 'kubeconfig for the API server; without it and without --manifests the in-cluster config is used',
    parse: nonEmpty,
  },
  {
    flag: '--apiserver-host',
    arg: '<host>',
    help: 'API server host for the bootstrap, overriding the kubeconfig or in-cluster address (in a cluster that address is a ClusterIP this agent itself serves; with --socket-lb the agent moves there once it serves it)',
    parse: parseHost,
  },
  {
    flag: '--apiserver-port',
    arg: '<port>',
    help: `API server port, overriding the kubeconfig's (in a cluster with --apiserver-host: default ${DEFAULT_APISERVER_PORT})`,
    parse: (t) => parsePort(t),
  },
  {
    flag: '--hostname-override',
    arg: '<name>',
    help: "this node's name, as in EndpointSlices' nodeName (default: the host name)",
    parse: nonEmpty,
  },
  {
    flag: '--nodeport-addresses',
    arg: '<cidrs>',
    help: 'comma-separated CIDRs: NodePorts answer only on the --devices addresses inside them (per family, like kube-proxy: default every address of the --devices interfaces, IPv6 link-local excepted)',
    parse: parseCidrList,
    list: true,
    key: 'nodePortAddresses',
  },
  {
    flag: '--cluster-cidr',
    arg: '<cidrs>',
    help: 'pod CIDRs of the cluster, at most one per IP family (10.244.0.0/16,fd10::/56): no Service may claim an address inside them as an externalIP or LB IP, and pod-to-pod packets skip the Service lookups',
    parse: parseCidrPerFamily,
    list: true,
  },
  {
    flag: '--service-cluster-ip-range',
    arg: '<cidrs>',
    help: "comma-separated Service ClusterIP ranges (the API server's flag): no Service may claim an address inside them as an externalIP or LB IP",
    parse: parseCidrList,
    list: true,
    key: 'serviceClusterIpRange',
  },
  {
    flag: '--allowed-external-ip-cidrs',
    arg: '<cidrs>',
    help: 'comma-separated CIDRs: externalIPs and LB IPs must fall inside one (which also lifts the cluster, Service and node refusals there); loopback, link-local, multicast and unspecified are never accepted',
    parse: parseCidrList,
    list: true,
    key: 'allowedExternalIpCidrs',
  },
  {
    flag: '--healthz-bind-address',
    arg: '<host:port>',
    help: 'where /healthz and /livez answer; empty disables',
    parse: parseBindAddress,
    default: { value: parseBindAddress(DEFAULT_HEALTHZ_BIND_ADDRESS), shown: DEFAULT_HEALTHZ_BIND_ADDRESS },
  },
  {
    flag: '--metrics-bind-address',
    arg: '<host:port>',
    help: 'where /metrics answers; empty disables',
    parse: parseBindAddress,
    default: { value: parseBindAddress(DEFAULT_METRICS_BIND_ADDRESS), shown: DEFAULT_METRICS_BIND_ADDRESS },
  },
  {
    flag: '--min-sync-period',
    arg: '<duration>',
    help: 'coalesce changes: at most one sync per period (e.g. 100ms, 1s)',
    parse: parseDuration,
    default: { value: DEFAULT_MIN_SYNC_PERIOD_MS, shown: `${DEFAULT_MIN_SYNC_PERIOD_MS}ms` },
  },
  {
    flag: '--lb-algorithm',
    arg: '<name>',
    help:
      'backend selection for Services without the switchyard.io/lb-algorithm annotation: random, or maglev ' +
      '(consistent hashing: the same backend for a flow on every node)',
    parse: parseLbAlgorithm,
    default: { value: 'random', shown: 'random' },
  },
  {
    flag: '--maglev-table-size',
    arg: '<prime>',
    help: 'entries of each Maglev lookup table, a prime (about 100 x the largest backend count keeps shares within 1%)',
    parse: parseMaglevTableSize,
    default: { value: DEFAULT_MAGLEV_TABLE_SIZE, shown: String(DEFAULT_MAGLEV_TABLE_SIZE) },
  },
  {
    flag: '--pod-devices',
    arg: '<globs>',
    help: 'comma-separated interface globs of pod veths (host side), e.g. "lxc*,veth*"',
    parse: parseGlobs,
    list: true,
  },
  {
    flag: '--devices',
    arg: '<globs>',
    help: 'comma-separated interface globs of the node\'s uplinks, for NodePort traffic from outside, e.g. "eth0,ens*"',
    parse: parseGlobs,
    list: true,
  },
  {
    flag: '--pin-dir',
    arg: '<dir>',
    help: 'bpffs directory for the pinned maps',
    parse: nonEmpty,
    default: { value: DEFAULT_PIN_DIR, shown: DEFAULT_PIN_DIR },
  },
  {
    flag: '--socket-lb',
    arg: '<mode>',
    help:
      "socket-level load balancing (cgroup connect4/sendmsg4/recvmsg4/getpeername4): 'disabled', 'host' " +
      "for the node's own network namespace (Cilium's socketLB.hostNamespaceOnly), or 'all' for the node " +
      'and the pods behind --pod-devices (their namespaces must be named in /run/netns)',
    parse: parseSocketLb,
    default: { value: 'disabled', shown: 'disabled' },
  },
  {
    flag: '--cgroup-root',
    arg: '<dir>',
    help: 'the cgroup v2 the socket-LB programs attach to (default: the root of the unified hierarchy, from /proc/mounts)',
    parse: nonEmpty,
  },
  {
    flag: '--bpf-object',
    arg: '<file>',
    help: 'the compiled data-path object',
    parse: nonEmpty,
    default: { value: DEFAULT_BPF_OBJECT, shown: DEFAULT_BPF_OBJECT },
  },
  {
    flag: '--bpf-lb-map-max',
    arg: '<entries>',
    help: 'entries of the frontends and affinity maps; backends and slots get 4× (default 65536)',
    parse: parseEntries,
  },
  {
    flag: '--bpf-ct-global-max',
    arg: '<entries>',
    help: 'entries of the conntrack map (default 262144, or from --bpf-map-dynamic-size-ratio)',
    parse: parseEntries,
  },
  {
    flag: '--bpf-map-dynamic-size-ratio',
    arg: '<ratio>',
    help: 'share of total memory (0 < ratio ≤ 1) that sizes conntrack and affinity when not given explicitly',
    parse: parseRatio,
  },
  {
    flag: '--full-sync-period',
    arg: '<duration>',
    help: 'how often the maps are read back and fully re-synced (partial syncs in between); 0 disables',
    parse: parseDuration,
    default: { value: 300_000, shown: '5m' },
  },
  {
    flag: '--log-level',
    arg: '<level>',
    help: `one of ${LOG_LEVELS.join(', ')}`,
    parse: parseLogLevel,
    default: { value: 'info', shown: 'info' },
  },
];

/** "--min-sync-period" → "minSyncPeriod": the commander attribute of a flag. */
export function attributeOf(flag: string): string {
  return flag.replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** The config-file key of an option, also the key of AgentConfig's intermediate values. */
export function configKey(spec: OptionSpec): string {
  return spec.key ?? attributeOf(spec.flag);
}
