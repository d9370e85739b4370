// A small list/watch client for the lab's DNS server: list a kind, then watch from the list's
// resourceVersion, applying ADDED/MODIFIED/DELETED to a cache; on a broken or expired watch, list
// again. It speaks the lab API server's admin unix socket (path sockets ignore network
// namespaces, so a pod reaches it without a route to the underlay). src/k8s is the agent's and
// may not be imported from the lab; this is the few lines the DNS server needs.
import { request, type IncomingMessage } from 'node:http';
import { apiPath, type ApiKind } from '../../model/kinds.js';
import type { KubeLike } from './records.js';

export class Watcher {
  readonly items = new Map<string, KubeLike>();
  private stopped = false;
  private current?: IncomingMessage;
  /** Set once the first list has landed: the server answers only after that. */
  synced = false;

  constructor(
    private readonly socket: string,
    private readonly token: string,
    private readonly kind: ApiKind,
    private readonly log: (msg: string) => void = () => {},
  ) {}

  values(): KubeLike[] {
    return [...this.items.values()];
  }

  start(): void {
    void this.loop();
  }

  stop(): void {
    this.stopped = true;
    this.current?.destroy();
  }

  private get(path: string): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const req = request(
        { socketPath: this.socket, path, headers: { authorization: `Bearer ${this.token}` } },
        resolve,
      );
      req.on('error', reject);
      req.end();
    });
  }

  private async list(): Promise<string> {
    const res = await this.get(apiPath(this.kind));
    let body = '';
    for await (const chunk of res) body += chunk;
    if (res.statusCode !== 200) throw new Error(`list ${this.kind}: HTTP ${res.statusCode}: ${body.slice(0, 200)}`);
    const list = JSON.parse(body) as { items: KubeLike[]; metadata: { resourceVersion: string } };
    this.items.clear();
    for (const o of list.items) this.items.set(key(o), o);
    this.synced = true;
    return list.metadata.resourceVersion;
  }

  /** Watches until the stream ends or the server says the version expired. */
  private async watch(rv: string): Promise<void> {
    const res = await this.get(`${apiPath(this.kind)}?watch=true&allowWatchBookmarks=true&resourceVersion=${rv}`);
    this.current = res;
    let buf = '';
    for await (const chunk of res) {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line && !this.event(line)) {
          res.destroy();
          return;
        }
      }
    }
  }

  /** One watch event into the cache; false on an ERROR event (410 Gone: list again). */
  private event(line: string): boolean {
    let ev: { type?: string; object?: KubeLike };
    try {
      ev = JSON.parse(line) as typeof ev;
    } catch {
      this.log(`${this.kind} watch: unparsable event dropped`);
      return true;
    }
    if (ev.type === 'ERROR') return false;
    if (!ev.object?.metadata?.name) return true;
    if (ev.type === 'DELETED') this.items.delete(key(ev.object));
    else if (ev.type === 'ADDED' || ev.type === 'MODIFIED') this.items.set(key(ev.object), ev.object);
    return true;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      try {
        // Whether the stream ended or expired, listing again is the simple correct resume.
        await this.watch(await this.list());
      } catch (err) {
        if (!this.stopped) this.log(`${this.kind}: ${(err as Error).message}; retrying in 500 ms`);
      }
      if (!this.stopped) await new Promise((r) => setTimeout(r, this.synced ? 50 : 500));
    }
  }
}

const key = (o: KubeLike) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
