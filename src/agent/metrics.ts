// Prometheus metrics on --metrics-bind-address (default 127.0.0.1:10249), in a registry of our
// own. kube-proxy's names where they mean the same, so its dashboards and alerts keep working:
//   kubeproxy_sync_proxy_rules_duration_seconds          histogram: one reconcile (map writes)
//   kubeproxy_sync_full_proxy_rules_duration_seconds     histogram: the same, full syncs only
//   kubeproxy_sync_partial_proxy_rules_duration_seconds  histogram: the same, partial syncs only
//   kubeproxy_network_programming_duration_seconds       histogram: EndpointSlice change
//        (endpoints.kubernetes.io/last-change-trigger-time) → the sync that programmed it
//   kubeproxy_sync_proxy_rules_last_timestamp_seconds    gauge: last successful sync
//   kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds  gauge: last change queued
// and ours, per service port {namespace, service, port, protocol}, read from the data path's
// `stats` per-CPU array (summed over CPUs) at scrape time:
//   switchyard_service_packets_total, _bytes_total, _new_connections_total, _no_endpoint_rejects_total
// and per Service and field, the external and load-balancer addresses the last sync refused:
//   switchyard_refused_external_addresses{namespace, service, field}
// and the service ports the last sync left out because a map had no room (dataplane/capacity.ts):
//   switchyard_map_full_service_ports{map}
// This module never touches the kernel: it is handed a StatsReader (a fake one in tests).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Stats } from '../abi/index.js';
import type { StatsReader } from '../dataplane/stats.js';
import type { ServicePortInfo } from '../compile/types.js';
import type { BindAddress } from './config.js';
import { RetryingServer } from './health.js';

/** Labels of one service port, from DesiredState.services. */
export type ServiceLabelInfo = Pick<ServicePortInfo, 'namespace' | 'name' | 'portName' | 'port' | 'protocol'>;

/** kube-proxy's buckets: 1 ms … 16 s, doubling. */
const SYNC_BUCKETS = Array.from({ length: 15 }, (_, i) => 0.001 * 2 ** i);
/** kube-proxy's: 0.25, 0.5, 1..59 s, 60..115 s by 5, 120..300 s by 30. */
const PROGRAMMING_BUCKETS = [
  0.25,
  0.5,
  ...Array.from({ length: 59 }, (_, i) => 1 + i),
  ...Array.from({ length: 12 }, (_, i) => 60 + 5 * i),
  ...Array.from({ length: 7 }, (_, i) => 120 + 30 * i),
];

const SERVICE_LABELS = ['namespace', 'service', 'port', 'protocol'] as const;

export interface AgentMetricsOptions {
  /** The service ports of the last applied DesiredState (svc id → labels). */
  services?: () => ReadonlyMap<number, ServiceLabelInfo> | undefined;
  /** Reads the data path's counters; set later with setStatsReader once the maps are open. */
  stats?: StatsReader;
  /** Failed syncs so far (the pipeline's status.failedSyncs). */
  failedSyncs?: () => number;
  /** Process metrics (CPU, memory, event loop) as every Prometheus client exports. Default true. */
  processMetrics?: boolean;
  now?: () => number;
}

export class AgentMetrics {
  readonly registry = new Registry();
  private readonly syncDuration: Histogram;
  private readonly syncByMode: Record<'full' | 'partial', Histogram>;
  private readonly mapFull: Gauge<'map'>;
  private readonly programming: Histogram;
  private readonly lastSync: Gauge;
  private readonly lastQueued: Gauge;
  private readonly failures: Counter;
  private readonly servicePorts: Gauge;
  private readonly refused: Gauge<'namespace' | 'service' | 'field'>;
  private readonly perService: Record<keyof Stats, Counter<(typeof SERVICE_LABELS)[number]>>;
  private stats: StatsReader | undefined;
  private readonly now: () => number;
  /** Trigger times (ms) reported by the previous sync: each change is observed once. */
  private seenTriggers = new Set<number>();
  /** Changes made before the agent started are not our latency (kube-proxy skips them too). */
  private readonly startedAt: number;

  constructor(private readonly opts: AgentMetricsOptions = {}) {
    const registers = [this.registry];
    this.now = opts.now ?? Date.now;
    this.startedAt = this.now();
    this.stats = opts.stats;
    this.syncDuration = new Histogram({
      name: 'kubeproxy_sync_proxy_rules_duration_seconds',
      help: 'SyncProxyRules latency in seconds: one reconcile of the BPF maps',
      buckets: SYNC_BUCKETS,
      registers,
    });
    this.syncByMode = {
      full: new Histogram({
        name: 'kubeproxy_sync_full_proxy_rules_duration_seconds',
        help: 'Full sync latency in seconds: every Service diffed and written',
        buckets: SYNC_BUCKETS,
        registers,
      }),
      partial: new Histogram({
        name: 'kubeproxy_sync_partial_proxy_rules_duration_seconds',
        help: 'Partial sync latency in seconds: only the changed Services',
        buckets: SYNC_BUCKETS,
        registers,
      }),
    };
    this.mapFull = new Gauge({
      name: 'switchyard_map_full_service_ports',
      labelNames: ['map'],
      registers,
      help: 'Service ports the last sync did not program because the named map had no room (raise --bpf-lb-map-max)',
    });
    this.programming = new Histogram({
      name: 'kubeproxy_network_programming_duration_seconds',
      help: 'In Cluster Network Programming Latency in seconds: from an EndpointSlice change (its last-change-trigger-time) to the sync that programmed it',
      buckets: PROGRAMMING_BUCKETS,
      registers,
    });
    this.lastSync = new Gauge({
      name: 'kubeproxy_sync_proxy_rules_last_timestamp_seconds',
      help: 'The last time the maps were successfully synced',
      registers,
    });
    this.lastQueued = new Gauge({
      name: 'kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds',
      help: 'The last time a sync was queued',
      registers,
    });
    this.failures = new Counter({
      name: 'switchyard_sync_failures_total',
      help: 'Syncs that failed (the maps kept their last good state)',
      registers,
    });
    this.servicePorts = new Gauge({
      name: 'switchyard_service_ports',
      help: 'Service ports programmed by the last sync',
      registers,
    });
    this.refused = new Gauge({
      name: 'switchyard_refused_external_addresses',
      labelNames: ['namespace', 'service', 'field'],
      registers,
      help: 'External and load-balancer addresses the last sync refused (loopback, pod, Service or node addresses, or outside --allowed-external-ip-cidrs)',
    });
    const counter = (name: string, help: string) => new Counter({ name, help, labelNames: SERVICE_LABELS, registers });
    this.perService = {
      packets: counter('switchyard_service_packets_total', 'Packets sent to the service port through the data path'),
      bytes: counter('switchyard_service_bytes_total', 'Bytes sent to the service port through the data path'),
      newFlows: counter(
        'switchyard_service_new_connections_total',
        'New connections (flows) load-balanced for the service port',
      ),
      noBackend: counter(
        'switchyard_service_no_endpoint_rejects_total',
        'Connections rejected because the service port had no usable endpoint',
      ),
    };
    if (opts.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  setStatsReader(reader: StatsReader | undefined): void {
    this.stats = reader;
  }

  /** A change arrived (the source's onChange). */
  queued(): void {
    this.lastQueued.set(this.now() / 1000);
  }

  /** After a successful sync: its duration and the trigger times of the objects it applied. */
  synced(durationMs: number, triggerTimes: readonly Date[], servicePorts?: number, mode?: 'full' | 'partial'): void {
    const now = this.now();
    this.syncDuration.observe(durationMs / 1000);
    if (mode) this.syncByMode[mode].observe(durationMs / 1000);
    this.lastSync.set(now / 1000);
    if (servicePorts !== undefined) this.servicePorts.set(servicePorts);
    const seen = new Set<number>();
    for (const t of triggerTimes) {
      const ms = t.getTime();
      if (Number.isNaN(ms)) continue;
      seen.add(ms);
      if (this.seenTriggers.has(ms) || ms < this.startedAt || ms > now) continue;
      this.programming.observe((now - ms) / 1000);
    }
    this.seenTriggers = seen;
  }

  /** The service ports the last sync skipped for want of room, counted per map. */
  mapFullPorts(overflow: ReadonlyArray<{ map: string }>): void {
    this.mapFull.reset();
    for (const map of ['frontends', 'backends', 'slots'])
      this.mapFull.set({ map }, overflow.filter((o) => o.map === map).length);
  }

  /** The refusals of the last sync (DesiredState.refused), counted per Service and field. */
  refusedAddresses(refused: ReadonlyArray<{ namespace: string; name: string; field: string }>): void {
    this.refused.reset();
    for (const r of refused) this.refused.inc({ namespace: r.namespace, service: r.name, field: r.field });
  }

  /** Reads the per-service counters, then renders the registry (Prometheus text format). */
  async scrape(): Promise<string> {
    this.refreshServiceCounters();
    const failed = this.opts.failedSyncs?.();
    if (failed !== undefined) {
      this.failures.reset();
      this.failures.inc(failed);
    }
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private refreshServiceCounters(): void {
    for (const c of Object.values(this.perService)) c.reset();
    const services = this.opts.services?.();
    if (!services || !this.stats) return;
    const values = this.stats([...services.keys()]);
    for (const [id, info] of services) {
      const s = values.get(id);
      if (!s) continue;
      const labels = {
        namespace: info.namespace,
        service: info.name,
        port: info.portName || String(info.port),
        protocol: info.protocol,
      };
      for (const [field, counter] of Object.entries(this.perService) as Array<
        [keyof Stats, Counter<(typeof SERVICE_LABELS)[number]>]
      >) {
        counter.inc(labels, Number(s[field]));
      }
    }
  }
}

/**
 * The proxy mode kube-proxy names at /proxyMode on its metrics address ("iptables", "ipvs",
 * "nftables"); the Kubernetes e2e framework reads it to pick mode-specific expectations.
 */
export const PROXY_MODE = 'ebpf';

export function metricsHandler(
  metrics: AgentMetrics,
  log?: Logger,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/proxyMode') {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' }).end(PROXY_MODE);
      return;
    }
    if (path !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found; try /metrics or /proxyMode\n');
      return;
    }
    metrics.scrape().then(
      (text) => res.writeHead(200, { 'Content-Type': metrics.contentType }).end(text),
      (err: Error) => {
        log?.error({ err: err.message }, 'metrics scrape failed');
        res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`scrape failed: ${err.message}\n`);
      },
    );
  };
}

export function metricsServer(address: BindAddress, metrics: AgentMetrics, log?: Logger): RetryingServer {
  return new RetryingServer('metrics server', address, metricsHandler(metrics, log), log);
}
