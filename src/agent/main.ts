// The composition root of the node agent: from a resolved AgentConfig, build the source (the API
// server or a manifest directory), the health and metrics servers, and the Agent (data path and
// sync loop), and stop them all on SIGTERM/SIGINT. The CLI (src/cli/agent.ts) only turns flags
// into the config and calls runAgent.
import { hostname } from 'node:os';
import { type Logger, pino } from 'pino';
import { conntrackReader, percpuStatsReader } from '../dataplane/stats.js';
import { type ApiRoutes, KubeConfigError, loadApiRoutes } from '../k8s/kubeconfig.js';
import { holdParsed } from '../model/held.js';
import type { Source } from '../sources/types.js';
import type { AgentConfig } from './config.js';
import { healthzServer, type RetryingServer } from './health.js';
import { metricsServer } from './metrics.js';
import { createObservers } from './observers.js';
import { AdminServer, adminHandler } from './admin.js';
import { adminSocketPath } from '../inspect/admin.js';
import { ApiRoute } from './api-route.js';

/** Starts the servers, the source and the agent; stops them all on SIGTERM/SIGINT.
 *  @param badConfig reports a configuration error found only now (an unusable kubeconfig); the CLI
 *  prints it as one line and exits 2, like a bad flag. */
export async function runAgent(cfg: AgentConfig, badConfig: (message: string) => never): Promise<void> {
  const log = pino({ level: cfg.logLevel, base: { component: 'agent' } });
  const nodeName = cfg.hostnameOverride ?? hostname();
  // The kubeconfig first: a bad one is a configuration error (exit 2) before anything listens.
  let routes: ApiRoutes | undefined;
  if (cfg.source.kind === 'kubernetes') {
    try {
      routes = await loadApiRoutes(cfg.source);
    } catch (err) {
      if (err instanceof KubeConfigError) badConfig(err.message);
      throw err;
    }
  }
  let source: Source | undefined;
  // Health and metrics answer from the start, before the (possibly slow) initial sync.
  const { health, metrics, nodePorts, hooks, attach, wants, errors } = createObservers({
    minSyncPeriodMs: cfg.minSyncPeriodMs,
    nodeName,
    log,
  });
  const servers: RetryingServer[] = [];
  if (cfg.healthzBindAddress) servers.push(healthzServer(cfg.healthzBindAddress, health, log));
  if (cfg.metricsBindAddress) servers.push(metricsServer(cfg.metricsBindAddress, metrics, log));
  await Promise.all(servers.map((s) => s.start()));
  const admin = new AdminServer(adminSocketPath(cfg.pinDir), adminHandler(wants, errors), log);
  await admin.start();

  const route = routes && (await apiRoute(routes, cfg, log));
  if (routes) {
    const { KubeSource } = await import('../k8s/source.js');
    const api = route ? route.initial() : routes.bootstrap;
    const kube = new KubeSource({ api, nodeName, logger: log, hold: holdParsed });
    route?.start(kube);
    source = kube;
  }
  const externalAddressPolicy = {
    clusterCidrs: cfg.clusterCidr,
    serviceCidrs: cfg.serviceClusterIpRange,
    allowedCidrs: cfg.allowedExternalIpCidrs,
  };

  // Loaded late: the data path pulls in libbpf (ffi-rs), which `--help` and bad flags never need.
  const { Agent } = await import('./agent.js');
  const agent = await Agent.start({
    manifests: cfg.source.kind === 'manifests' ? cfg.source.dir : undefined,
    source,
    podDevices: cfg.podDevices,
    devices: cfg.devices,
    pinDir: cfg.pinDir,
    bpfObject: cfg.bpfObject,
    hostnameOverride: nodeName,
    nodePortAddresses: cfg.nodePortAddresses,
    externalAddressPolicy,
    podCidrs: cfg.clusterCidr,
    minSyncPeriodMs: cfg.minSyncPeriodMs,
    log,
    lbAlgorithm: cfg.lbAlgorithm,
    maglevTableSize: cfg.maglevTableSize,
    mapSizes: cfg.mapSizes,
    fullSyncPeriodMs: cfg.fullSyncPeriodMs,
    socketLb: cfg.socketLb,
    cgroupRoot: cfg.cgroupRoot,
    hooks,
  });
  attach(agent.pipeline, percpuStatsReader(agent.maps.stats), conntrackReader(agent.maps));

  const shutdown = (signal: string) => {
    log.info({ signal }, 'stopping');
    route?.stop();
    Promise.all([agent.stop(), nodePorts.stop(), admin.stop(), ...servers.map((s) => s.stop())]).then(
      () => process.exit(0),
      (err) => {
        log.error({ err }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

/** The move to the `kubernetes` Service address, when there is one to move to and socket LB can
 *  serve it (the kubeconfig names an IPv4 address other than --apiserver-host's). */
async function apiRoute(routes: ApiRoutes, cfg: AgentConfig, log: Logger): Promise<ApiRoute | undefined> {
  const bootstrap = { api: routes.bootstrap, server: routes.bootstrap.server };
  if (!routes.service || cfg.socketLb === 'disabled') {
    if (cfg.source.kind === 'kubernetes' && cfg.source.apiserverHost !== undefined)
      log.info(
        { server: bootstrap.server, why: routes.noService ?? '--socket-lb disabled' },
        'API connection stays on the bootstrap address (--apiserver-host)',
      );
    return undefined;
  }
  const { api, addr, port } = routes.service;
  // Loaded late, as agent.js is: it pulls in libbpf.
  const { pinnedServiceCheck } = await import('./api-route-pins.js');
  return new ApiRoute({
    bootstrap,
    service: { api, server: api.server, addr, port },
    check: pinnedServiceCheck(cfg.pinDir),
    log,
  });
}
