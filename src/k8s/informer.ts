// One resource's informer, kept alive. client-node 1.4's ListWatch relists by itself on 410
// Gone, but any other error (HTTP 500, 403, a reset connection) stops it for good, its stop()
// also reports an error, a stop() during the list still opens the watch afterwards, and a
// silent watch never times out. So: every (re)start is a fresh ListWatch (a relist) tagged with
// an attempt number, callbacks from older attempts are ignored, errors restart it with
// exponential backoff, and a watchdog restarts it when nothing (event, bookmark, reconnect) has
// come for watchdogMs. The object map here is only replaced, never cleared: while the API is
// unreachable it holds the last good state.
import { ListWatch, Watch, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { listRaw } from './list.js';
import { objectKey, toPlain, type KindSpec } from './normalize.js';
import { trimWire } from './trim.js';

export interface ResourceSpec extends KindSpec {
  /** Collection path, e.g. /api/v1/services. */
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
}

export interface InformerOptions {
  logger: Logger;
  watchdogMs: number;
  minBackoffMs: number;
  maxBackoffMs: number;
  /** Server-side watch lifetime; a clean close resumes the watch without a relist. */
  watchTimeoutSeconds: number;
  /** Called after each change of the object map (not for relisted objects that did not change),
   *  with the object's key; without one after a relist pruned objects (anything may be gone). */
  onChange: (key?: string) => void;
  /** Called when an attempt has listed and its watch is open. */
  onSynced: () => void;
}

export interface InformerStatus {
  synced: boolean;
  objects: number;
  restarts: number;
  lastError?: string;
  /** When the current failure started (undefined: healthy). */
  failingSince?: Date;
  /** When the current attempt listed and opened its watch (undefined: it has not yet). */
  syncedAt?: Date;
}

/**
 * Why a watch event cannot be taken into the cache, or undefined when it can. client-node's
 * cache dereferences obj.metadata.namespace on every ADDED/MODIFIED/DELETED and throws, out of
 * a stream callback, on anything else: one malformed line from a broken proxy or server would
 * crash the agent. Such events are dropped here and logged; the rest of the stream goes on.
 */
export function malformedEvent(type: string, obj: unknown): string | undefined {
  if (type === 'BOOKMARK' || type === 'ERROR') return undefined;
  if (type !== 'ADDED' && type !== 'MODIFIED' && type !== 'DELETED')
    return `unknown event type ${JSON.stringify(type)}`;
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return `${type} event without an object`;
  const meta = (obj as { metadata?: unknown }).metadata;
  if (typeof meta !== 'object' || meta === null) return `${type} event whose object has no metadata`;
  if (typeof (meta as { name?: unknown }).name !== 'string') return `${type} event whose object has no metadata.name`;
  return undefined;
}

/** A Watch that reports every line (BOOKMARKs and unchanged objects included) to the watchdog,
 *  and passes on only events the cache can take (malformedEvent). */
class ObservedWatch extends Watch {
  constructor(
    kc: KubeConfig,
    private readonly seen: (type: string, obj: any) => void,
    private readonly dropped: (why: string) => void,
    private readonly kind: KindSpec['kind'],
  ) {
    super(kc);
  }

  override watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: any, watchObj?: any) => void,
    done: (err: any) => void,
  ): Promise<AbortController> {
    return super.watch(
      path,
      queryParams,
      (phase, obj, raw) => {
        this.seen(phase, obj);
        const why = malformedEvent(phase, obj);
        if (why) return this.dropped(why);
        callback(phase, phase === 'ERROR' || phase === 'BOOKMARK' ? obj : trimWire(obj, this.kind), raw);
      },
      done,
    );
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { statusCode?: number; code?: unknown }).statusCode ?? (err as { code?: unknown }).code;
    return code !== undefined && !err.message.includes(String(code)) ? `${err.message} (${String(code)})` : err.message;
  }
  return String(err);
}

export class ResilientInformer {
  readonly objects = new Map<string, Record<string, unknown>>();
  private attempt = 0;
  private informer?: ListWatch<KubernetesObject>;
  private abort?: AbortController;
  private restartTimer?: NodeJS.Timeout;
  private watchdog?: NodeJS.Timeout;
  private stopping = false;
  private lastActivity = 0;
  private syncedAt?: number;
  private failures = 0;
  private status: InformerStatus = { synced: false, objects: 0, restarts: 0 };

  constructor(
    private kc: KubeConfig,
    readonly spec: ResourceSpec,
    private readonly opts: InformerOptions,
  ) {}

  start(): void {
    this.stopping = false;
    const every = Math.max(20, Math.floor(this.opts.watchdogMs / 4));
    this.watchdog = setInterval(() => this.checkWatchdog(), every);
    this.watchdog.unref();
    void this.run();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.attempt++;
    if (this.watchdog) clearInterval(this.watchdog);
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.watchdog = this.restartTimer = undefined;
    this.halt();
  }

  getStatus(): InformerStatus {
    const syncedAt = this.syncedAt === undefined ? undefined : new Date(this.syncedAt);
    return { ...this.status, objects: this.objects.size, syncedAt };
  }

  /**
   * Lists and watches through another connection from now on (the API route moved, see
   * src/agent/api-route.ts). The objects stay: the fresh list replaces them as a relist does,
   * reporting only what changed, so a move deletes nothing from the maps.
   */
  retarget(kc: KubeConfig): void {
    this.kc = kc;
    if (this.stopping || this.watchdog === undefined) return; // not started: start() uses it
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    this.failures = 0;
    this.attempt++; // the old connection's callbacks are ignored from here on
    this.halt();
    void this.run();
  }

  private async run(): Promise<void> {
    if (this.stopping) return;
    const id = ++this.attempt;
    const live = () => id === this.attempt && !this.stopping;
    const { spec, kc } = this;
    const ac = new AbortController();
    this.abort = ac;
    this.syncedAt = undefined;
    this.lastActivity = Date.now();

    const watch = new ObservedWatch(
      kc,
      (type, obj) => {
        if (!live()) return;
        this.lastActivity = Date.now();
        if (type === 'ERROR') this.opts.logger.warn({ kind: spec.kind, status: obj }, 'watch ERROR event');
      },
      (why) => {
        if (live())
          this.opts.logger.warn({ kind: spec.kind, path: spec.path, error: why }, 'malformed watch event dropped');
      },
      spec.kind,
    );
    const path = `${spec.path}?allowWatchBookmarks=true&timeoutSeconds=${this.opts.watchTimeoutSeconds}`;
    const list = async () => {
      const body = await listRaw(
        kc,
        spec.path,
        { labelSelector: spec.labelSelector, fieldSelector: spec.fieldSelector },
        ac.signal,
      );
      for (const item of body.items) trimWire(item, spec.kind);
      return body;
    };
    const informer = new ListWatch<KubernetesObject>(
      path,
      watch,
      list as () => Promise<any>,
      false,
      spec.labelSelector,
      spec.fieldSelector,
    );
    this.informer = informer;
    let failed = false;
    informer.on('add', (o) => live() && this.upsert(o));
    informer.on('update', (o) => live() && this.upsert(o));
    informer.on('delete', (o) => live() && this.remove(objectKey(o)));
    informer.on('connect', () => {
      if (live()) this.lastActivity = Date.now();
    });
    informer.on('error', (err) => {
      if (!live()) return; // our own stop(), or an attempt already given up
      failed = true;
      this.fail(describe(err));
    });

    try {
      await informer.start();
    } catch (err) {
      // Raised before any request (no current cluster, failing exec/OIDC auth): retry like any error.
      if (live() && !failed) this.fail(describe(err));
      return;
    }
    if (!live()) {
      // A stop() during the list does not keep ListWatch from opening its watch afterwards.
      void informer.stop();
      return;
    }
    if (failed) return;
    // Synced: whatever the fresh list no longer has is gone (deleted while we were away).
    let pruned = false;
    for (const [key, obj] of this.objects) {
      const meta = obj.metadata as { name?: string; namespace?: string };
      if (!informer.get(meta.name ?? '', meta.namespace)) {
        this.objects.delete(key);
        pruned = true;
      }
    }
    this.syncedAt = Date.now();
    if (this.status.lastError !== undefined) {
      this.opts.logger.info(
        { kind: spec.kind, objects: this.objects.size, restarts: this.status.restarts },
        'informer recovered',
      );
    }
    this.status = { ...this.status, synced: true, lastError: undefined, failingSince: undefined };
    this.opts.onSynced();
    // After a relist (a restart) the consumer resyncs in full: the objects were not all seen
    // change one by one while the informer was away.
    if (pruned || this.status.restarts > 0) this.opts.onChange();
  }

  private upsert(raw: KubernetesObject): void {
    this.lastActivity = Date.now();
    const obj = toPlain(raw, this.spec, true); // ListWatch holds only what list() and the watch parsed
    const key = objectKey(raw);
    const old = this.objects.get(key);
    const rv = (obj.metadata as { resourceVersion?: string } | undefined)?.resourceVersion;
    if (old && rv !== undefined && (old.metadata as { resourceVersion?: string }).resourceVersion === rv) return;
    this.objects.set(key, obj);
    this.opts.onChange(key);
  }

  private remove(key: string): void {
    this.lastActivity = Date.now();
    if (this.objects.delete(key)) this.opts.onChange(key);
  }

  private checkWatchdog(): void {
    if (this.stopping || this.restartTimer) return;
    const idle = Date.now() - this.lastActivity;
    if (idle > this.opts.watchdogMs) this.fail(`watchdog: nothing from the watch for ${idle} ms`);
  }

  /** Gives up the current attempt and schedules the next one after the backoff. */
  private fail(reason: string): void {
    if (this.stopping) return;
    const now = Date.now();
    // A failure after a stable run starts the backoff over; quick failures keep doubling it.
    if (this.syncedAt !== undefined && now - this.syncedAt >= this.opts.maxBackoffMs) this.failures = 0;
    const delay = Math.min(this.opts.maxBackoffMs, this.opts.minBackoffMs * 2 ** this.failures);
    this.failures++;
    this.attempt++; // callbacks of the failed attempt are ignored from here on
    this.halt();
    this.status = {
      ...this.status,
      restarts: this.status.restarts + 1,
      lastError: reason,
      failingSince: this.status.failingSince ?? new Date(now),
    };
    this.opts.logger.warn(
      { kind: this.spec.kind, reason, backoffMs: delay, restarts: this.status.restarts, objects: this.objects.size },
      'informer restarting',
    );
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      void this.run();
    }, delay);
  }

  private halt(): void {
    this.abort?.abort();
    this.abort = undefined;
    const inf = this.informer;
    this.informer = undefined;
    if (inf) void inf.stop().catch(() => undefined);
  }
}
