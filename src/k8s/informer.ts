// One resource's informer, kept alive: list, then watch from the list's resourceVersion with
// bookmarks, resuming the watch where it left off when the server ends it (timeoutSeconds), and
// relisting on 410 Gone (an ERROR event or the watch request's status). Any other error (an HTTP
// status, a reset connection, an ERROR event) restarts it, a relist, after an exponential
// backoff, and a watchdog restarts it when nothing (event, bookmark, a new watch) has come for
// watchdogMs. Every (re)start is an attempt with a number; whatever an older attempt's requests
// still deliver is ignored. The object map here is only replaced, never cleared: while the API is
// unreachable it holds the last good state, and it is the only copy of each object.
import type { Logger } from 'pino';
import { ApiError, type ApiClient } from './client.js';
import { listRaw } from './list.js';
import { objectKey, toPlain, type KindSpec } from './normalize.js';
import { trimWire } from './trim.js';
import { watchRaw } from './watch.js';

export interface ResourceSpec extends KindSpec {
  /** Collection path, e.g. /api/v1/services. */
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** What to keep of each object (the JSON as it came, not trimmed) instead of the object: the
   *  agent keeps the model's parse result (src/model/held.ts). It must keep metadata.resourceVersion. */
  hold?: (object: Record<string, unknown>) => Record<string, unknown>;
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
 * Why a watch event cannot be taken into the cache, or undefined when it can: one malformed line
 * from a broken proxy or server is dropped and logged, and the rest of the stream goes on.
 */
export function malformedEvent(type: unknown, obj: unknown): string | undefined {
  if (type === 'BOOKMARK' || type === 'ERROR') return undefined;
  if (type !== 'ADDED' && type !== 'MODIFIED' && type !== 'DELETED')
    return `unknown event type ${JSON.stringify(type)}`;
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return `${String(type)} event without an object`;
  const meta = (obj as { metadata?: unknown }).metadata;
  if (typeof meta !== 'object' || meta === null) return `${type} event whose object has no metadata`;
  if (typeof (meta as { name?: unknown }).name !== 'string') return `${type} event whose object has no metadata.name`;
  return undefined;
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { statusCode?: number; code?: unknown }).statusCode ?? (err as { code?: unknown }).code;
    return code !== undefined && !err.message.includes(String(code)) ? `${err.message} (${String(code)})` : err.message;
  }
  return String(err);
}

/** A relist is due: 410 Gone, the version to resume from is no longer in the server's history. */
class Gone extends Error {}

const isGone = (err: unknown) => err instanceof Gone || (err instanceof ApiError && err.statusCode === 410);

export class ResilientInformer {
  readonly objects = new Map<string, Record<string, unknown>>();
  private attempt = 0;
  private abort?: AbortController;
  private restartTimer?: NodeJS.Timeout;
  private watchdog?: NodeJS.Timeout;
  private stopping = false;
  private lastActivity = 0;
  private syncedAt?: number;
  private failures = 0;
  private status: InformerStatus = { synced: false, objects: 0, restarts: 0 };

  constructor(
    private api: ApiClient,
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
  retarget(api: ApiClient): void {
    this.api = api;
    if (this.stopping || this.watchdog === undefined) return; // not started: start() uses it
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    this.failures = 0;
    this.attempt++; // the old connection's requests are ignored from here on
    this.halt();
    void this.run();
  }

  /** One attempt: list, then watch (resuming, relisting on 410) until it fails or is given up. */
  private async run(): Promise<void> {
    if (this.stopping) return;
    const id = ++this.attempt;
    const live = () => id === this.attempt && !this.stopping;
    const ac = new AbortController();
    this.abort = ac;
    this.syncedAt = undefined;
    this.lastActivity = Date.now();
    try {
      let rv = await this.relist(ac.signal, live, true);
      while (live()) {
        try {
          rv = await this.watch(rv, ac.signal, live);
        } catch (err) {
          if (!live() || !isGone(err)) throw err;
          rv = await this.relist(ac.signal, live, false);
        }
      }
    } catch (err) {
      if (live()) this.fail(describe(err)); // else: our own stop(), or an attempt given up
    }
  }

  /** Lists and makes the object map what the list says; returns the list's resourceVersion.
   *  @first: the attempt's own list, after which the informer counts as synced. */
  private async relist(signal: AbortSignal, live: () => boolean, first: boolean): Promise<string> {
    const { spec } = this;
    const selectors = { labelSelector: spec.labelSelector, fieldSelector: spec.fieldSelector };
    const body = await listRaw(
      this.api,
      spec.path,
      selectors,
      signal,
      (item) => {
        if (live()) this.lastActivity = Date.now(); // a long list in pages is not a silent watch
        return this.take(item); // as each page comes: the wire objects do not outlive their page
      },
      spec.kind, // EndpointSlices come in protobuf (src/util/k8s-protobuf.ts)
    );
    if (!live()) return '';
    this.lastActivity = Date.now();
    const listed = new Set<string>();
    for (const item of body.items) listed.add(this.upsert(item));
    // Whatever the fresh list no longer has is gone (deleted while we were away).
    let pruned = false;
    for (const key of this.objects.keys()) {
      if (listed.has(key)) continue;
      this.remove(key);
      pruned = true;
    }
    if (first) this.synced();
    // After a relist the consumer resyncs in full: the objects were not all seen change one by
    // one while the informer was away (a restart, or the history it watched from expired).
    if (pruned || this.status.restarts > 0 || !first) this.opts.onChange();
    return body.metadata.resourceVersion ?? '';
  }

  private synced(): void {
    const { spec } = this;
    this.syncedAt = Date.now();
    if (this.status.lastError !== undefined) {
      this.opts.logger.info(
        { kind: spec.kind, objects: this.objects.size, restarts: this.status.restarts },
        'informer recovered',
      );
    }
    this.status = { ...this.status, synced: true, lastError: undefined, failingSince: undefined };
    this.opts.onSynced();
  }

  /** One watch request from @rv; returns the version to resume from once the server ends it. */
  private async watch(rv: string, signal: AbortSignal, live: () => boolean): Promise<string> {
    const { spec, opts } = this;
    const query = {
      resourceVersion: rv,
      allowWatchBookmarks: 'true',
      timeoutSeconds: String(opts.watchTimeoutSeconds),
      labelSelector: spec.labelSelector,
      fieldSelector: spec.fieldSelector,
    };
    let last = rv;
    const seen = () => {
      if (live()) this.lastActivity = Date.now();
      return live();
    };
    const dropped = (why: string) =>
      opts.logger.warn({ kind: spec.kind, path: spec.path, error: why }, 'malformed watch event dropped');
    await watchRaw(
      this.api,
      spec.path,
      query,
      {
        open: seen,
        garbage: () => seen() && dropped('a line that is not JSON'),
        event: (type, obj) => {
          if (!seen()) return;
          const why = malformedEvent(type, obj);
          if (why) return dropped(why);
          const o = obj as { metadata?: { resourceVersion?: unknown }; code?: unknown; message?: unknown };
          if (type === 'ERROR') {
            opts.logger.warn({ kind: spec.kind, status: obj }, 'watch ERROR event');
            if (o?.code === 410) throw new Gone();
            const code = Number(o?.code) || undefined;
            throw new ApiError(`watch ERROR event (${code}): ${String(o?.message ?? JSON.stringify(obj))}`, code);
          }
          if (typeof o.metadata?.resourceVersion === 'string') last = o.metadata.resourceVersion;
          if (type === 'DELETED') this.remove(objectKey(obj as Record<string, any>));
          else if (type !== 'BOOKMARK') this.upsert(this.take(obj as Record<string, unknown>));
        },
      },
      signal,
    );
    return last;
  }

  /** A freshly parsed wire object as the map holds it: what spec.hold keeps of it (nothing of the
   *  wire object is kept, so it is neither trimmed nor made plain first), else trimmed and plain,
   *  made of the wire object's parts, not a copy (normalize.ts). */
  private take(wire: Record<string, unknown>): { key: string; obj: Record<string, unknown> } {
    const { hold, kind } = this.spec;
    return { key: objectKey(wire), obj: hold ? hold(wire) : toPlain(trimWire(wire, kind), this.spec, true) };
  }

  /** Puts a taken object into the map (unless its resourceVersion is the one held); returns its key. */
  private upsert({ key, obj }: { key: string; obj: Record<string, unknown> }): string {
    const old = this.objects.get(key);
    const rv = (obj.metadata as { resourceVersion?: string } | undefined)?.resourceVersion;
    if (old && rv !== undefined && (old.metadata as { resourceVersion?: string }).resourceVersion === rv) return key;
    this.objects.set(key, obj);
    this.opts.onChange(key);
    return key;
  }

  private remove(key: string): void {
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
    this.attempt++; // what the failed attempt's requests still deliver is ignored from here on
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
  }
}
