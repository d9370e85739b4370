// Open watch streams of the double: one JSON event per line on a chunked 200 response. Knows
// how to replay history, translate events through a watcher's selectors (an object that stops
// matching is DELETED for that watcher, one that starts matching is ADDED — as the API server
// does), send BOOKMARKs, close at timeoutSeconds, and misbehave on request (faults).
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { KINDS, type ApiKind } from '../model/kinds.js';
import type { KubeObject, StoreEvent } from './store.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatcherSpec {
  kind: ApiKind;
  res: ServerResponse;
  match: (obj: KubeObject) => boolean;
  bookmarks: boolean;
  timeoutMs?: number;
}

interface Watcher extends WatcherSpec {
  /** Lines held back while the kind is stalled. */
  held: string[];
  timer?: NodeJS.Timeout;
  timedOut: boolean;
  closed: boolean;
}

export function statusObject(code: number, reason: string, message: string): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

/** What one watcher sees of a store event, given its selectors; undefined: nothing. */
export function translate(
  ev: StoreEvent,
  match: (o: KubeObject) => boolean,
): { type: WatchEventType; object: KubeObject } | undefined {
  const now = match(ev.object);
  if (ev.type !== 'MODIFIED') return now ? { type: ev.type, object: ev.object } : undefined;
  const before = ev.prev !== undefined && match(ev.prev);
  if (now) return { type: before ? 'MODIFIED' : 'ADDED', object: ev.object };
  if (!before) return undefined;
  const gone = structuredClone(ev.prev!);
  gone.metadata.resourceVersion = String(ev.rv);
  return { type: 'DELETED', object: gone };
}

export class WatchHub {
  private readonly watchers = new Set<Watcher>();
  private readonly stalled = new Set<ApiKind>();

  constructor(private readonly currentRv: () => number) {}

  /** Starts a stream: headers now (flushed, or client-node's watch() never returns), then events. */
  open(spec: WatcherSpec, replay: Array<{ type: WatchEventType; object: unknown }>): void {
    const w: Watcher = { ...spec, held: [], timedOut: false, closed: false };
    this.watchers.add(w);
    const { res } = spec;
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
    res.flushHeaders();
    res.socket?.setNoDelay(true);
    res.on('close', () => this.drop(w));
    for (const e of replay) this.send(w, e.type, e.object);
    if (spec.timeoutMs !== undefined) {
      w.timer = setTimeout(() => {
        w.timedOut = true;
        if (this.stalled.has(w.kind)) return; // a stalled stream says nothing, not even goodbye
        if (w.bookmarks) this.send(w, 'BOOKMARK', this.bookmark(w.kind));
        this.end(w);
      }, spec.timeoutMs);
    }
  }

  /** Delivers a store event to every watcher of its kind. */
  publish(kind: ApiKind, ev: StoreEvent): void {
    for (const w of this.watchers) {
      if (w.kind !== kind) continue;
      const out = translate(ev, w.match);
      if (out) this.send(w, out.type, out.object);
    }
  }

  bookmarks(kind?: ApiKind): void {
    for (const w of this.watchers) {
      if (w.bookmarks && (!kind || w.kind === kind) && !this.stalled.has(w.kind)) {
        this.send(w, 'BOOKMARK', this.bookmark(w.kind));
      }
    }
  }

  count(kind?: ApiKind): number {
    return [...this.watchers].filter((w) => !kind || w.kind === kind).length;
  }

  /** Fault 'close': ends every stream of the kind cleanly. */
  closeAll(kind?: ApiKind): void {
    for (const w of this.of(kind)) this.end(w);
  }

  /** Fault 'expire410': an ERROR event with a 410 Status, then the stream ends. */
  expireAll(kind: ApiKind | undefined, message: string): void {
    this.errorAll(kind, statusObject(410, 'Expired', message));
  }

  /** An ERROR event carrying @status on every stream of the kind, then the stream ends (fault
   *  'error500': an internal error of the server's watch, which a client relists after). */
  errorAll(kind: ApiKind | undefined, status: Record<string, unknown>): void {
    for (const w of this.of(kind)) {
      this.send(w, 'ERROR', status, true);
      this.end(w);
    }
  }

  /**
   * Fault 'garbage': malformed events on every stream of the kind, as a broken proxy or a buggy
   * server could send: a line that is not JSON, an unknown event type, an event without an
   * object, an object that is a string, and a Service without metadata.
   */
  garbageAll(kind?: ApiKind): void {
    for (const w of this.of(kind)) {
      if (w.closed) continue;
      w.res.write(
        [
          '{"type":"ADDED","object":{"kind":"Serv\n',
          '{"type":"EXPLODED","object":{}}\n',
          '{"type":"MODIFIED"}\n',
          '{"type":"ADDED","object":"not an object"}\n',
          `{"type":"ADDED","object":{"kind":"${w.kind}","apiVersion":"v1","spec":{"ports":"none"}}}\n`,
        ].join(''),
      );
    }
  }

  /** Fault 'reset': the TCP connections of the kind's streams are reset (RST, no FIN). */
  resetAll(kind?: ApiKind): void {
    for (const w of this.of(kind)) resetSocket(w.res.socket);
  }

  stall(kind: ApiKind): void {
    this.stalled.add(kind);
  }

  isStalled(kind: ApiKind): boolean {
    return this.stalled.has(kind);
  }

  /** Ends a stall: held events go out, streams whose timeout passed meanwhile end. */
  unstall(kind?: ApiKind): void {
    for (const k of kind ? [kind] : [...this.stalled]) this.stalled.delete(k);
    for (const w of this.of(kind)) {
      if (this.stalled.has(w.kind)) continue;
      const lines = w.held.splice(0);
      if (lines.length && !w.closed) w.res.write(lines.join(''));
      if (w.timedOut) this.end(w);
    }
  }

  closeEverything(): void {
    for (const w of this.watchers) {
      this.end(w);
      w.res.socket?.destroy();
    }
  }

  private of(kind?: ApiKind): Watcher[] {
    return [...this.watchers].filter((w) => !kind || w.kind === kind);
  }

  private bookmark(kind: ApiKind): Record<string, unknown> {
    const { apiVersion } = KINDS[kind];
    return { kind, apiVersion, metadata: { resourceVersion: String(this.currentRv()) } };
  }

  private send(w: Watcher, type: WatchEventType, object: unknown, evenIfStalled = false): void {
    if (w.closed) return;
    const line = `${JSON.stringify({ type, object })}\n`;
    if (this.stalled.has(w.kind) && !evenIfStalled) w.held.push(line);
    else w.res.write(line);
  }

  private end(w: Watcher): void {
    if (!w.closed) w.res.end();
    this.drop(w);
  }

  private drop(w: Watcher): void {
    w.closed = true;
    if (w.timer) clearTimeout(w.timer);
    this.watchers.delete(w);
  }
}

/** Sends a TCP RST where Node can (resetAndDestroy, Node ≥ 16.17), else destroys. */
export function resetSocket(socket: Socket | null | undefined): void {
  if (!socket || socket.destroyed) return;
  const s = socket as Socket & { resetAndDestroy?: () => Socket };
  if (typeof s.resetAndDestroy === 'function') s.resetAndDestroy();
  else s.destroy();
}
