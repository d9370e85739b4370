// Health, answered like kube-proxy's so probes, load balancers and dashboards built for it work:
//  - /healthz and /livez on --healthz-bind-address (default 0.0.0.0:10256): 200 with
//    {lastUpdated, currentTime[, nodeEligible]} while changes get programmed; 503 when the last
//    sync failed, or a change has waited longer than the timeout (see healthTimeoutMs in
//    config.ts). /healthz also fails while the node is being deleted (nodeEligible false) so
//    load balancers drain it; /livez ignores that, so a draining node's agent isn't restarted.
//  - one server per Service with externalTrafficPolicy Local and a healthCheckNodePort, on that
//    port on every address: 200 while the node has local endpoints (and the proxy is healthy),
//    else 503, so a cloud load balancer only sends traffic to nodes that can serve it locally.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { BindAddress } from './config.js';

// ---- proxy health state -------------------------------------------------------------------

export interface ProxyHealthOptions {
  /** A change pending (queued, not applied) for longer than this makes the proxy unhealthy. */
  timeoutMs: number;
  /** The last sync attempt's error, undefined once a sync succeeded (the pipeline's status). */
  lastSyncError?: () => string | undefined;
  now?: () => number;
}

export interface HealthVerdict {
  healthy: boolean;
  /** Why not, for the body of a 503 and the log. */
  reason?: string;
  lastUpdated: Date;
  currentTime: Date;
  nodeEligible: boolean;
}

/** kube-proxy's ProxyHealthServer state: queued() when a change arrives, updated() when a sync
 *  programmed everything. Healthy unless something has waited longer than the timeout. */
export class ProxyHealth {
  private lastUpdated = 0;
  private oldestPending: number | undefined;
  private eligible = true;
  private readonly now: () => number;

  constructor(private readonly opts: ProxyHealthOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** A change arrived that a sync must still apply (kube-proxy's QueuedUpdate). */
  queued(): void {
    this.oldestPending ??= this.now();
  }

  /** A sync applied every change seen so far. */
  updated(): void {
    this.oldestPending = undefined;
    this.lastUpdated = this.now();
  }

  /** false while this node is being deleted (deletionTimestamp or the autoscaler's taint). */
  setNodeEligible(eligible: boolean): void {
    this.eligible = eligible;
  }

  check(): HealthVerdict {
    const now = this.now();
    const error = this.opts.lastSyncError?.();
    let reason: string | undefined;
    if (error !== undefined) reason = 'last sync failed';
    else if (this.oldestPending !== undefined && now - this.oldestPending >= this.opts.timeoutMs) {
      reason = `changes pending for ${((now - this.oldestPending) / 1000).toFixed(1)}s (limit ${this.opts.timeoutMs / 1000}s)`;
    }
    const healthy = reason === undefined;
    // Like kube-proxy: while healthy, lastUpdated is "now" (older clients read it as a heartbeat).
    return {
      healthy,
      reason,
      lastUpdated: new Date(healthy ? now : this.lastUpdated),
      currentTime: new Date(now),
      nodeEligible: this.eligible,
    };
  }
}

/** kube-proxy's rule for nodeEligible: the node is not being deleted and not tainted for deletion
 *  by the cluster autoscaler. `node` is the raw Node object (undefined: not seen yet → eligible). */
export function nodeEligible(node: Record<string, unknown> | undefined): boolean {
  if (!node) return true;
  const meta = node.metadata as { deletionTimestamp?: unknown } | undefined;
  if (meta?.deletionTimestamp) return false;
  const taints = (node.spec as { taints?: Array<{ key?: unknown }> } | undefined)?.taints;
  return !(Array.isArray(taints) && taints.some((t) => t?.key === 'ToBeDeletedByClusterAutoscaler'));
}

// ---- HTTP plumbing ------------------------------------------------------------------------

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'X-Content-Type-Options': 'nosniff',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** An HTTP server that keeps trying to bind (every retryMs) when the address is taken, like
 *  kube-proxy's: a busy port is an error in the log, not a dead agent. */
export class RetryingServer {
  private server: Server | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** The bound port once listening (useful with port 0). */
  port: number | undefined;

  constructor(
    private readonly what: string,
    private readonly address: BindAddress,
    private readonly handler: (req: IncomingMessage, res: ServerResponse) => void,
    private readonly log?: Logger,
    private readonly retryMs = 5000,
  ) {}

  /** Resolves after the first bind attempt, whether or not it worked. */
  async start(): Promise<void> {
    const server = createServer(this.handler);
    try {
      this.port = await listen(server, this.address.host, this.address.port);
      if (this.stopped) return void (await close(server));
      this.server = server;
      this.log?.info({ address: `${this.address.host}:${this.port}` }, `${this.what} listening`);
    } catch (err) {
      this.log?.error(
        { address: `${this.address.host}:${this.address.port}`, err: (err as Error).message },
        `${this.what} cannot listen; retrying`,
      );
      if (!this.stopped)
        this.timer = setTimeout(() => {
          void this.start();
        }, this.retryMs);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.server) await close(this.server);
    this.server = undefined;
  }
}

/** /healthz and /livez. */
export function healthzHandler(health: ProxyHealth): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/healthz' && path !== '/livez')
      return sendJson(res, 404, { error: 'not found; try /healthz or /livez' });
    const v = health.check();
    const withNode = path === '/healthz';
    const ok = v.healthy && (!withNode || v.nodeEligible);
    const body: Record<string, unknown> = {
      lastUpdated: v.lastUpdated.toISOString(),
      currentTime: v.currentTime.toISOString(),
    };
    if (withNode) body.nodeEligible = v.nodeEligible;
    if (!ok) body.reason = v.reason ?? 'node is being deleted';
    sendJson(res, ok ? 200 : 503, body);
  };
}

export function healthzServer(address: BindAddress, health: ProxyHealth, log?: Logger): RetryingServer {
  return new RetryingServer('healthz server', address, healthzHandler(health), log);
}

// ---- healthCheckNodePort servers ----------------------------------------------------------

export interface HealthCheckEntry {
  namespace: string;
  name: string;
  nodePort: number;
  localEndpoints: number;
}

interface Listener {
  port: number;
  server?: Server;
  localEndpoints: number;
}

/** The set of healthCheckNodePort listeners, reconciled after every sync with sync(). Like
 *  kube-proxy, a port that cannot be bound is logged and tried again at the next sync. */
export class ServiceHealthServers {
  private readonly listeners = new Map<string, Listener>();
  private readonly host: string;
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly opts: { host?: string; proxyHealthy?: () => boolean; log?: Logger } = {}) {
    this.host = opts.host ?? '0.0.0.0';
  }

  /** Makes the listeners match `entries`: opens new ones, closes gone ones (or moved ports),
   *  and updates the local endpoint counts in place. Calls run one after another, in order. */
  sync(entries: readonly HealthCheckEntry[]): Promise<void> {
    this.queue = this.queue.then(() => this.reconcile(entries));
    return this.queue;
  }

  private async reconcile(entries: readonly HealthCheckEntry[]): Promise<void> {
    const want = new Map(entries.map((e) => [`${e.namespace}/${e.name}`, e]));
    const closing: Promise<void>[] = [];
    for (const [key, l] of this.listeners) {
      const e = want.get(key);
      if (e && e.nodePort === l.port && l.server) continue;
      this.listeners.delete(key);
      if (l.server) {
        this.opts.log?.info({ service: key, port: l.port }, 'closing health check node port');
        closing.push(close(l.server));
      }
    }
    await Promise.all(closing);
    const opening: Promise<void>[] = [];
    for (const [key, e] of want) {
      const have = this.listeners.get(key);
      if (have) {
        have.localEndpoints = e.localEndpoints;
        continue;
      }
      const l: Listener = { port: e.nodePort, localEndpoints: e.localEndpoints };
      this.listeners.set(key, l);
      opening.push(this.open(key, e, l));
    }
    await Promise.all(opening);
  }

  private async open(key: string, e: HealthCheckEntry, l: Listener): Promise<void> {
    const server = createServer((_req, res) => {
      const healthy = this.opts.proxyHealthy?.() ?? true;
      sendJson(res, l.localEndpoints > 0 && healthy ? 200 : 503, {
        service: { namespace: e.namespace, name: e.name },
        localEndpoints: l.localEndpoints,
        serviceProxyHealthy: healthy,
      });
    });
    try {
      await listen(server, this.host, e.nodePort);
      l.server = server;
      this.opts.log?.info({ service: key, port: e.nodePort }, 'health check node port open');
    } catch (err) {
      // Left without a server: the next sync() tries again.
      this.opts.log?.error(
        { service: key, port: e.nodePort, err: (err as Error).message },
        'cannot open health check node port',
      );
    }
  }

  /** Open listeners: "namespace/name" → port. */
  openPorts(): Map<string, number> {
    return new Map([...this.listeners].filter(([, l]) => l.server).map(([k, l]) => [k, l.port]));
  }

  async stop(): Promise<void> {
    await this.queue;
    const all = [...this.listeners.values()];
    this.listeners.clear();
    await Promise.all(all.map((l) => (l.server ? close(l.server) : undefined)));
  }
}
