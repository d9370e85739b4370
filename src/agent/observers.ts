// What watches the sync loop: health (with the health check node ports) and metrics, and the
// hooks the agent calls to feed them. Kept apart from the composition root (main.ts) so the glue
// is testable without a kernel.
import type { Logger } from 'pino';
import type { DesiredState } from '../compile/index.js';
import type { ConntrackReader, StatsReader } from '../dataplane/stats.js';
import type { SourcedObject } from '../sources/types.js';
import type { AgentHooks } from './agent.js';
import { healthTimeoutMs } from './config.js';
import { nodeEligible, ProxyHealth, ServiceHealthServers } from './health.js';
import { AgentMetrics } from './metrics.js';
import { registerConntrackMetrics } from './ct-metrics.js';
import { ErrorLog, wantsOf } from './admin.js';
import type { Overflow } from '../dataplane/capacity.js';

export interface ObserverOptions {
  minSyncPeriodMs: number;
  nodeName: string;
  log?: Logger;
  /** Bind address of the healthCheckNodePort servers (default 0.0.0.0, like kube-proxy). */
  nodePortHost?: string;
}

/** Health, metrics and the health check node ports, and the hooks that feed them. */
export function createObservers(opts: ObserverOptions) {
  let pipelineStatus: { lastError?: string; failedSyncs: number } | undefined;
  let desired: DesiredState | undefined;
  let overflow: Overflow[] = [];
  let appliedAt: Date | undefined;
  const errors = new ErrorLog();
  const health = new ProxyHealth({
    timeoutMs: healthTimeoutMs(opts.minSyncPeriodMs),
    lastSyncError: () => pipelineStatus?.lastError,
  });
  // The initial sync is pending from the start: probes fail if it never comes.
  health.queued();
  const metrics = new AgentMetrics({
    services: () => desired?.services,
    failedSyncs: () => pipelineStatus?.failedSyncs ?? 0,
  });
  const nodePorts = new ServiceHealthServers({
    host: opts.nodePortHost,
    proxyHealthy: () => health.check().healthy,
    log: opts.log,
  });
  const hooks: AgentHooks = {
    changed: () => {
      health.queued();
      metrics.queued();
    },
    synced: (d, result, triggerTimes, nodes = []) =>
      guarded(opts.log, () => {
        desired = d;
        overflow = result.overflow ?? [];
        appliedAt = new Date();
        health.updated();
        metrics.synced(result.durationMs, triggerTimes, d.services.size - (result.overflow?.length ?? 0), result.mode);
        metrics.mapFullPorts(result.overflow ?? []);
        metrics.refusedAddresses(d.refused);
        health.setNodeEligible(nodeEligible(ownNode(nodes, opts.nodeName)));
        void nodePorts.sync(d.healthCheck);
      }),
    problem: (p) => errors.record(p),
  };
  return {
    health,
    metrics,
    nodePorts,
    hooks,
    /** For the admin endpoint: what the last applied sync wanted, and the errors logged. */
    wants: () => wantsOf(opts.nodeName, desired, overflow, appliedAt),
    errors,
    /** Once the agent runs: its pipeline status (failed syncs), its stats map and conntrack tables. */
    attach(
      pipeline: { status: { lastError?: string; failedSyncs: number } },
      stats?: StatsReader,
      conntrack?: ConntrackReader,
    ): void {
      pipelineStatus = pipeline.status;
      metrics.setStatsReader(stats);
      if (conntrack) registerConntrackMetrics(metrics.registry, conntrack);
    },
  };
}

/** The hooks run inside the pipeline's sync: a bug in an observer must not fail the sync. */
function guarded(log: Logger | undefined, fn: () => void): void {
  try {
    fn();
  } catch (err) {
    log?.error({ err }, 'after-sync hook failed');
  }
}

function ownNode(nodes: SourcedObject[], nodeName: string): Record<string, unknown> | undefined {
  return nodes.find((n) => (n.object.metadata as { name?: unknown } | undefined)?.name === nodeName)?.object;
}
