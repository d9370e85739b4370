// `switchyard agent`: the node agent, with kube-proxy's flag names where they mean the same.
// The flags come from the option table in src/agent/config.ts (which also reads --config), so the
// flags, the config-file keys and the DaemonSet's args are checked against one list.
// Bad flags or settings: one line on stderr and exit code 2, like kube-proxy.
import { Command, InvalidArgumentError, Option } from 'commander';
import { hostname } from 'node:os';
import { pino, type Logger } from 'pino';
import {
  AGENT_OPTIONS, ConfigError, healthTimeoutMs, loadKubeConfig, resolveAgentConfig,
  type AgentConfig, type ResolveEnv,
} from '../agent/config.js';
import { healthzServer, nodeEligible, ProxyHealth, ServiceHealthServers, type RetryingServer } from '../agent/health.js';
import type { AgentHooks } from '../agent/agent.js';
import { AgentMetrics, metricsServer } from '../agent/metrics.js';
import { percpuStatsReader, type StatsReader } from '../dataplane/stats.js';
import type { DesiredState } from '../compile/index.js';
import type { Source, SourcedObject } from '../sources/types.js';


export function agentCommand(): Command {
  const cmd = new Command('agent')
    .description('run the node agent: watch Services and EndpointSlices, program the kernel');
  for (const spec of AGENT_OPTIONS) {
    const opt = new Option(`${spec.flag} ${spec.arg}`, spec.help).argParser((value: string) => {
      try {
        return spec.parse(value);
      } catch (err) {
        throw new InvalidArgumentError((err as Error).message);
      }
    });
    if (spec.default) opt.default(spec.default.value, spec.default.shown);
    cmd.addOption(opt);
  }
  cmd.action(async () => {
    let cfg: AgentConfig;
    try {
      cfg = configFromCommand(cmd);
    } catch (err) {
      // cmd.error prints the one line and ends with exit code 2 (a CommanderError under exitOverride).
      if (err instanceof ConfigError) cmd.error(`error: ${err.message}`, { exitCode: 2 });
      throw err;
    }
    await runAgent(cfg, (message) => cmd.error(`error: ${message}`, { exitCode: 2 }));
  });
  return cmd;
}

/** The settings of a parsed `agent` command: flags over --config over defaults. */
export function configFromCommand(cmd: Command, env?: ResolveEnv): AgentConfig {
  return resolveAgentConfig(cmd.opts(), (key) => cmd.getOptionValueSource(key) === 'cli', env);
}

export interface ObserverOptions {
  minSyncPeriodMs: number;
  nodeName: string;
  log?: Logger;
  /** Bind address of the healthCheckNodePort servers (default 0.0.0.0, like kube-proxy). */
  nodePortHost?: string;
}

/** What watches the sync loop: health (with the health check node ports) and metrics, and the
 *  hooks that feed them. Kept apart from the agent so the glue is testable without a kernel. */
export function createObservers(opts: ObserverOptions) {
  let pipelineStatus: { lastError?: string; failedSyncs: number } | undefined;
  let desired: DesiredState | undefined;
  const health = new ProxyHealth({ timeoutMs: healthTimeoutMs(opts.minSyncPeriodMs), lastSyncError: () => pipelineStatus?.lastError });
  // The initial sync is pending from the start: probes fail if it never comes.
  health.queued();
  const metrics = new AgentMetrics({ services: () => desired?.services, failedSyncs: () => pipelineStatus?.failedSyncs ?? 0 });
  const nodePorts = new ServiceHealthServers({ host: opts.nodePortHost, proxyHealthy: () => health.check().healthy, log: opts.log });
  const hooks: AgentHooks = {
    changed: () => { health.queued(); metrics.queued(); },
    synced: (d, result, triggerTimes, nodes = []) => guarded(opts.log, () => {
      desired = d;
      health.updated();
      metrics.synced(result.durationMs, triggerTimes, d.services.size);
      metrics.refusedAddresses(d.refused);
      health.setNodeEligible(nodeEligible(ownNode(nodes, opts.nodeName)));
      void nodePorts.sync(d.healthCheck);
    }),
  };
  return {
    health, metrics, nodePorts, hooks,
    /** Once the agent runs: its pipeline status (failed syncs) and its stats map. */
    attach(pipeline: { status: { lastError?: string; failedSyncs: number } }, stats?: StatsReader): void {
      pipelineStatus = pipeline.status;
      metrics.setStatsReader(stats);
    },
  };
}

/** Starts the servers, the source and the agent; stops them all on SIGTERM/SIGINT. */
async function runAgent(cfg: AgentConfig, badConfig: (message: string) => never): Promise<void> {
  const log = pino({ level: cfg.logLevel, base: { component: 'agent' } });
  const nodeName = cfg.hostnameOverride ?? hostname();
  // The kubeconfig first: a bad one is a configuration error (exit 2) before anything listens.
  let kubeConfig: Awaited<ReturnType<typeof loadKubeConfig>> | undefined;
  if (cfg.source.kind === 'kubernetes') {
    try {
      kubeConfig = await loadKubeConfig(cfg.source);
    } catch (err) {
      if (err instanceof ConfigError) badConfig(err.message);
      throw err;
    }
  }
  let source: Source | undefined;
  // Health and metrics answer from the start, before the (possibly slow) initial sync.
  const { health, metrics, nodePorts, hooks, attach } = createObservers({ minSyncPeriodMs: cfg.minSyncPeriodMs, nodeName, log });
  const servers: RetryingServer[] = [];
  if (cfg.healthzBindAddress) servers.push(healthzServer(cfg.healthzBindAddress, health, log));
  if (cfg.metricsBindAddress) servers.push(metricsServer(cfg.metricsBindAddress, metrics, log));
  await Promise.all(servers.map((s) => s.start()));

  if (kubeConfig) {
    const { KubeSource } = await import('../k8s/source.js');
    source = new KubeSource({ kubeConfig, nodeName, logger: log });
  }
  const externalAddressPolicy = {
    clusterCidrs: cfg.clusterCidr, serviceCidrs: cfg.serviceClusterIpRange, allowedCidrs: cfg.allowedExternalIpCidrs,
  };

  const { Agent } = await import('../agent/agent.js');
  const agent = await Agent.start({
    manifests: cfg.source.kind === 'manifests' ? cfg.source.dir : undefined,
    source, podDevices: cfg.podDevices, devices: cfg.devices, pinDir: cfg.pinDir, bpfObject: cfg.bpfObject,
    hostnameOverride: nodeName, nodePortAddresses: cfg.nodePortAddresses, externalAddressPolicy, minSyncPeriodMs: cfg.minSyncPeriodMs, log,
    hooks,
  });
  attach(agent.pipeline, percpuStatsReader(agent.maps.stats));

  const shutdown = (signal: string) => {
    log.info({ signal }, 'stopping');
    Promise.all([agent.stop(), nodePorts.stop(), ...servers.map((s) => s.stop())])
      .then(() => process.exit(0), (err) => { log.error({ err }, 'stop failed'); process.exit(1); });
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
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
