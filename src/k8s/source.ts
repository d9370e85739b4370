// KubeSource: the Kubernetes API as a Source. Three informers, filtered like kube-proxy's:
// Services and EndpointSlices without a service-proxy-name label (another proxy's) and
// without the headless label, and this node's Node object. start() resolves once all three
// have listed and opened their watches; from then on every change calls onChange. Each
// informer survives errors on its own (see informer.ts) and keeps the last good state.
import type { Logger } from 'pino';
import type { ObjectChange, Snapshot, Source, SourcedObject } from '../sources/types.js';
import type { ApiClient } from './client.js';
import { ResilientInformer, type InformerStatus, type ResourceSpec } from './informer.js';
import { KINDS, apiPath } from '../model/kinds.js';

/** kube-proxy's selector (cmd/kube-proxy/app/server.go: noProxyName + noHeadlessEndpoints),
 *  applied to both the Service and the EndpointSlice informer. */
export const PROXY_LABEL_SELECTOR = '!service.kubernetes.io/service-proxy-name,!service.kubernetes.io/headless';

export const ORIGIN = 'apiserver';

export interface KubeSourceOptions {
  /** The connection to list and watch through (client.ts). */
  api: ApiClient;
  /** This node's name: the Node informer watches only metadata.name=<nodeName>. */
  nodeName: string;
  logger: Logger;
  /** Restart a watch that brought nothing (event, bookmark, reconnect) for this long. Default 60 000. */
  watchdogMs?: number;
  /** Backoff between restarts after errors: doubles from min to max. Defaults 200 and 10 000. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Server-side watch lifetime (timeoutSeconds). Default: 3/4 of the watchdog, so a healthy
   *  but quiet watch is renewed (cheaply, from its resourceVersion) before the watchdog fires. */
  watchTimeoutSeconds?: number;
  /** Label selector for Services and EndpointSlices. Default PROXY_LABEL_SELECTOR. */
  labelSelector?: string;
  /** What the informers keep of each Service and EndpointSlice, given its origin (ORIGIN): by
   *  default the trimmed object. The agent passes the model's holdParsed, so each object is held
   *  once, as the model read it (src/model/held.ts). */
  hold?: (
    kind: 'Service' | 'EndpointSlice',
    object: Record<string, unknown>,
    origin: string,
  ) => Record<string, unknown>;
}

type Kind = 'services' | 'endpointSlices' | 'nodes';

export interface KubeSourceStatus {
  synced: boolean;
  lastSyncError?: string;
  changes: number;
  informers: Record<Kind, InformerStatus>;
}

export class KubeSource implements Source {
  readonly name = 'kubernetes';
  private api: ApiClient;
  private readonly informers: Record<Kind, ResilientInformer>;
  private onChange?: (change?: ObjectChange) => void;
  private started = false;
  private isSynced = false;
  private changes = 0;
  private waiters?: { resolve: () => void; reject: (e: Error) => void };

  constructor(private readonly opts: KubeSourceOptions) {
    if (!opts.nodeName) throw new Error('KubeSource: nodeName is required');
    this.api = opts.api;
    const watchdogMs = opts.watchdogMs ?? 60_000;
    const common = {
      logger: opts.logger,
      watchdogMs,
      minBackoffMs: opts.minBackoffMs ?? 200,
      maxBackoffMs: opts.maxBackoffMs ?? 10_000,
      watchTimeoutSeconds: opts.watchTimeoutSeconds ?? Math.max(1, Math.floor((watchdogMs * 0.75) / 1000)),
      onSynced: () => this.checkSynced(),
    };
    const on = (kind: Kind) => ({
      ...common,
      onChange: (key?: string) => this.changed(key === undefined ? undefined : { kind, key }),
    });
    const selector = opts.labelSelector ?? PROXY_LABEL_SELECTOR;
    const { hold } = opts;
    const holding = (kind: 'Service' | 'EndpointSlice') =>
      hold && { hold: (object: Record<string, unknown>) => hold(kind, object, ORIGIN) };
    const specs: Record<Kind, ResourceSpec> = {
      services: { ...watchOf('Service'), labelSelector: selector, ...holding('Service') },
      endpointSlices: { ...watchOf('EndpointSlice'), labelSelector: selector, ...holding('EndpointSlice') },
      nodes: { ...watchOf('Node'), fieldSelector: `metadata.name=${opts.nodeName}` },
    };
    this.informers = {
      services: new ResilientInformer(this.api, specs.services, on('services')),
      endpointSlices: new ResilientInformer(this.api, specs.endpointSlices, on('endpointSlices')),
      nodes: new ResilientInformer(this.api, specs.nodes, on('nodes')),
    };
  }

  /** Resolves once Services, EndpointSlices and this Node are listed and watched; retries until
   *  then (see status().lastSyncError). Rejects only if stop() comes first. */
  start(onChange: (change?: ObjectChange) => void): Promise<void> {
    if (this.started) throw new Error('KubeSource: already started');
    this.started = true;
    this.onChange = onChange;
    const ready = new Promise<void>((resolve, reject) => (this.waiters = { resolve, reject }));
    for (const inf of Object.values(this.informers)) inf.start();
    return ready;
  }

  async stop(): Promise<void> {
    await Promise.all(Object.values(this.informers).map((i) => i.stop()));
    this.waiters?.reject(new Error('KubeSource stopped before it synced'));
    this.waiters = undefined;
  }

  snapshot(): Snapshot {
    const take = (k: Kind): SourcedObject[] =>
      [...this.informers[k].objects.entries()]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([, object]) => ({ object, origin: ORIGIN }));
    return { services: take('services'), endpointSlices: take('endpointSlices'), nodes: take('nodes'), errors: [] };
  }

  /** Moves every informer to another connection to the same API server (a relist each); the
   *  objects and the synced state stay, so nothing is deleted while the new lists run. */
  retarget(api: ApiClient): void {
    this.api = api;
    for (const inf of Object.values(this.informers)) inf.retarget(api);
  }

  /** The informer's own copy: no second copy of the object is kept. */
  get(change: ObjectChange): SourcedObject | undefined {
    const object = this.informers[change.kind].objects.get(change.key);
    return object && { object, origin: ORIGIN };
  }

  /** True once every informer has synced; stays true while the API is away (last good state). */
  get synced(): boolean {
    return this.isSynced;
  }

  /** The error of an informer that is failing right now, if any. */
  get lastSyncError(): string | undefined {
    for (const [kind, inf] of Object.entries(this.informers)) {
      const err = inf.getStatus().lastError;
      if (err !== undefined) return `${kind}: ${err}`;
    }
    return undefined;
  }

  status(): KubeSourceStatus {
    return {
      synced: this.isSynced,
      lastSyncError: this.lastSyncError,
      changes: this.changes,
      informers: {
        services: this.informers.services.getStatus(),
        endpointSlices: this.informers.endpointSlices.getStatus(),
        nodes: this.informers.nodes.getStatus(),
      },
    };
  }

  private changed(change: ObjectChange | undefined): void {
    if (!this.isSynced) return; // the initial state is announced by start() resolving
    this.changes++;
    this.onChange?.(change);
  }

  private checkSynced(): void {
    if (this.isSynced || !Object.values(this.informers).every((i) => i.getStatus().synced)) return;
    this.isSynced = true;
    this.opts.logger.info(
      {
        services: this.informers.services.objects.size,
        endpointSlices: this.informers.endpointSlices.objects.size,
        nodes: this.informers.nodes.objects.size,
      },
      'kubernetes source synced',
    );
    this.waiters?.resolve();
    this.waiters = undefined;
  }
}

/** What an informer needs to list and watch a kind across all namespaces (src/model/kinds.ts). */
function watchOf(kind: ResourceSpec['kind']): Pick<ResourceSpec, 'kind' | 'apiVersion' | 'path'> {
  return { kind, apiVersion: KINDS[kind].apiVersion, path: apiPath(kind) };
}
