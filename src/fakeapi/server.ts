// FakeApiServer: an in-process Kubernetes API server double for tests and the local lab. It
// serves Services, EndpointSlices and Nodes over plain HTTP on loopback with the real list/watch
// wire protocol (resourceVersions, bounded watch history with 410 Gone, BOOKMARKs, timeoutSeconds,
// label and field selectors), takes changes in-process (apply/delete) or over HTTP
// (POST/PUT/DELETE), and misbehaves on request: fault(kind, 'close' | 'expire410' | 'error500' | 'http410' |
// 'http500' | 'stall' | 'reset' | 'garbage').
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { API_KINDS, KINDS, type ApiKind } from '../model/kinds.js';
import { ObjectStore, type KubeObject } from './store.js';
import { WatchHub } from './watch.js';
import { FaultState, type Fault } from './faults.js';
import { handler } from './http.js';

export type { ApiKind } from '../model/kinds.js';
export type { KubeObject, ObjectMeta } from './store.js';
export { FAULTS, type Fault } from './faults.js';

export interface FakeApiServerOptions {
  /** Address to bind; loopback unless a lab needs its namespaces to reach it. */
  host?: string;
  /** 0 (default): an ephemeral port. */
  port?: number;
  /** Events kept per kind for watch resumption; older versions get 410 Gone. Default 1000. */
  historySize?: number;
  /** BOOKMARK period for watches that allow them; 0 disables the timer. Default 1000 ms. */
  bookmarkIntervalMs?: number;
  /** Bearer token requests must present (also written into the kubeconfig). Default "switchyard-lab". */
  token?: string;
}

export const DEFAULT_TOKEN = 'switchyard-lab';

/** A kubeconfig (JSON, which is YAML too) for an http:// server: TLS verification is off. */
export function kubeconfigFor(url: string, token = DEFAULT_TOKEN): string {
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'switchyard-fake', cluster: { server: url, 'insecure-skip-tls-verify': true } }],
    users: [{ name: 'switchyard-fake', user: { token } }],
    contexts: [{ name: 'switchyard-fake', context: { cluster: 'switchyard-fake', user: 'switchyard-fake' } }],
    'current-context': 'switchyard-fake',
    preferences: {},
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

/** The same, as the plain access a client of src/k8s takes (ApiAccess), without reading a file. */
export function accessFor(url: string, token = DEFAULT_TOKEN) {
  return { server: url, headers: { Authorization: `Bearer ${token}` }, skipTLSVerify: true };
}

export class FakeApiServer {
  private readonly store: ObjectStore;
  private readonly hub: WatchHub;
  private readonly faults: FaultState;
  private readonly counts = new Map<string, number>();
  private readonly sockets = new Set<Socket>();
  private readonly token: string;
  private server?: Server;
  private bookmarkTimer?: NodeJS.Timeout;
  private baseUrl?: string;

  constructor(private readonly opts: FakeApiServerOptions = {}) {
    this.store = new ObjectStore(opts.historySize ?? 1000);
    this.hub = new WatchHub(() => this.store.resourceVersion);
    this.faults = new FaultState(this.store, this.hub);
    this.store.onEvent((kind, ev) => this.hub.publish(kind, ev));
    this.token = opts.token ?? DEFAULT_TOKEN;
  }

  async start(): Promise<{ url: string }> {
    if (this.baseUrl) return { url: this.baseUrl };
    const host = this.opts.host ?? '127.0.0.1';
    const server = createServer(
      handler({
        store: this.store,
        hub: this.hub,
        faults: this.faults,
        token: this.token,
        count: (key) => this.counts.set(key, (this.counts.get(key) ?? 0) + 1),
      }),
    );
    server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port ?? 0, host, () => resolve());
    });
    this.server = server;
    const addr = server.address();
    if (!addr || typeof addr === 'string') throw new Error('fake apiserver: no TCP address');
    this.baseUrl = `http://${host.includes(':') ? `[${host}]` : host}:${addr.port}`;
    const every = this.opts.bookmarkIntervalMs ?? 1000;
    if (every > 0) {
      this.bookmarkTimer = setInterval(() => this.hub.bookmarks(), every);
      this.bookmarkTimer.unref();
    }
    return { url: this.baseUrl };
  }

  async stop(): Promise<void> {
    if (this.bookmarkTimer) clearInterval(this.bookmarkTimer);
    this.bookmarkTimer = undefined;
    const server = this.server;
    this.server = undefined;
    this.baseUrl = undefined;
    if (!server) return;
    this.faults.clear();
    this.hub.closeEverything();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  get url(): string {
    if (!this.baseUrl) throw new Error('fake apiserver: not started');
    return this.baseUrl;
  }

  // --- objects --------------------------------------------------------------------------------

  /** Creates or updates; assigns resourceVersion (one global counter), uid, creationTimestamp. */
  apply(obj: unknown): KubeObject {
    return this.store.apply(obj);
  }

  /** Deletes; false when there was nothing to delete. Namespace is ignored for Nodes. */
  delete(kind: ApiKind, namespace: string | undefined, name: string): boolean {
    return this.store.delete(kind, namespace, name) !== undefined;
  }

  get(kind: ApiKind, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.store.get(kind, namespace, name);
  }

  list(kind: ApiKind): KubeObject[] {
    return this.store.list(kind).map((o) => ({ ...o, kind, apiVersion: KINDS[kind].apiVersion }));
  }

  /** The latest resourceVersion handed out. */
  resourceVersion(): string {
    return String(this.store.resourceVersion);
  }

  // --- faults ---------------------------------------------------------------------------------

  /**
   * Misbehaves for one kind (or all): 'close' ends open watches cleanly; 'expire410' sends them an
   * ERROR 410 event and ends them, and forgets the history so resuming gets 410 too (→ relist);
   * 'http410' answers the next `count` watch requests with HTTP 410; 'http500' answers the next
   * `count` list or watch requests with HTTP 500; 'stall' freezes open watches and holds new
   * requests (watches get headers, then nothing) until unstall(); 'reset' resets the TCP
   * connections of open watches (and of held requests).
   */
  fault(kind: ApiKind | 'all', fault: Fault, count = 1): void {
    this.faults.inject(kind === 'all' ? API_KINDS : [kind], fault, count);
  }

  /** Ends a stall: held events and requests go out. */
  unstall(kind?: ApiKind): void {
    this.faults.unstall(kind);
  }

  /** Forgets the watch history: resuming from any version before now gets 410 Gone. */
  compactHistory(kind?: ApiKind): void {
    this.store.compact(kind);
  }

  /** Sends a BOOKMARK now to every watch that allows them. */
  sendBookmarks(kind?: ApiKind): void {
    this.hub.bookmarks(kind);
  }

  // --- observation ----------------------------------------------------------------------------

  /** Requests so far by "<verb> <path>", verbs: list watch get create update delete. */
  requests(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }

  /** Requests of one verb for one kind, over all its paths (cluster-wide and namespaced). */
  requestCount(kind: ApiKind, verb: 'list' | 'watch' | 'get' | 'create' | 'update' | 'delete'): number {
    const { prefix, plural } = KINDS[kind];
    let n = 0;
    for (const [key, c] of this.counts) {
      const [v, path] = key.split(' ');
      if (
        v === verb &&
        path.startsWith(`${prefix}/`) &&
        (path.endsWith(`/${plural}`) || path.includes(`/${plural}/`))
      ) {
        n += c;
      }
    }
    return n;
  }

  openWatches(kind?: ApiKind): number {
    return this.hub.count(kind);
  }

  // --- kubeconfig -----------------------------------------------------------------------------

  kubeconfig(): string {
    return kubeconfigFor(this.url, this.token);
  }

  async writeKubeconfig(path: string): Promise<void> {
    await writeFile(path, this.kubeconfig(), { mode: 0o600 });
  }
}
