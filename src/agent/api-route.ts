// The agent's own API connection through the `kubernetes` Service (issue 14). In a cluster the
// kubeconfig or in-cluster config names the ClusterIP, which only works once a service proxy
// serves it: this agent, with socket LB on. So --apiserver-host is the bootstrap address, and
// once the Service address is programmed in this node's maps (a frontend with endpoints) and
// socket LB serves this namespace, the informers move to the Service address (a relist each,
// nothing deleted meanwhile). A restarted agent whose pins already serve it starts there.
// If the Service address stops working (no frontend, no endpoints, or the informers failing or
// not syncing through it), the connection goes back to the bootstrap address with a warning,
// and the next move waits a hold-off that doubles, so a broken Service never leaves the agent
// without its API nor flapping between the two.
// Pure (no libbpf): the check against the pins is api-route-pins.ts.
import type { ApiClient } from '../k8s/client.js';
import type { Logger } from 'pino';

/** Whether socket LB would serve a TCP connect() to the address from this namespace now. */
export type ServiceState = { ok: true; service: string } | { ok: false; why: string };

/** What the route needs of the source (KubeSource). */
export interface RoutedSource {
  retarget(api: ApiClient): void;
  status(): { informers: Record<string, { failingSince?: Date; syncedAt?: Date; lastError?: string }> };
}

export interface ApiRouteOptions {
  bootstrap: { api: ApiClient; server: string };
  service: { api: ApiClient; server: string; addr: string; port: number };
  check: (addr: string, port: number) => ServiceState;
  log: Logger;
  pollMs?: number;
  /** Informers failing this long through the Service address: back to bootstrap. */
  failAfterMs?: number;
  /** Informers not listed and watched this long after a move (a silent peer): back to bootstrap. */
  syncWithinMs?: number;
  /** The first hold-off after a move that did not work; doubles up to maxHoldMs. */
  holdMs?: number;
  maxHoldMs?: number;
  now?: () => number;
}

export class ApiRoute {
  private onService = false;
  private since = 0;
  private holdUntil = 0;
  private hold: number;
  private timer?: NodeJS.Timeout;
  private source?: RoutedSource;
  private readonly now: () => number;

  constructor(private readonly o: ApiRouteOptions) {
    this.hold = o.holdMs ?? 30_000;
    this.now = o.now ?? Date.now;
  }

  /** The connection to start with: the Service address when the pinned maps already serve it. */
  initial(): ApiClient {
    const { bootstrap, service, log } = this.o;
    const state = this.o.check(service.addr, service.port);
    this.onService = state.ok;
    this.since = this.now();
    if (state.ok) {
      log.info(
        { server: service.server, service: state.service, bootstrap: bootstrap.server },
        'API connection through the Service address from the start: the pinned maps and socket LB serve it',
      );
      return service.api;
    }
    log.info(
      { server: bootstrap.server, serviceServer: service.server, why: state.why },
      'API connection through the bootstrap address (--apiserver-host) until the Service address is programmed',
    );
    return bootstrap.api;
  }

  get current(): 'service' | 'bootstrap' {
    return this.onService ? 'service' : 'bootstrap';
  }

  start(source: RoutedSource): void {
    this.source = source;
    this.timer = setInterval(() => this.tick(), this.o.pollMs ?? 500);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** One look: move to the Service address, or back from it. Public for tests. */
  tick(): void {
    if (!this.source) return;
    if (!this.onService) {
      if (this.now() < this.holdUntil) return;
      const state = this.o.check(this.o.service.addr, this.o.service.port);
      if (state.ok) this.move(state.service);
      return;
    }
    const state = this.o.check(this.o.service.addr, this.o.service.port);
    const trouble = state.ok ? this.trouble() : undefined;
    // Not programmed: nothing is wrong with the Service address itself, come back when it is.
    if (!state.ok) this.fallBack(state.why, false);
    else if (trouble) this.fallBack(trouble, true);
    else if (this.synced()) this.hold = this.o.holdMs ?? 30_000; // it works: a later failure starts over
  }

  private move(service: string): void {
    const { bootstrap, service: svc, log } = this.o;
    log.info({ from: bootstrap.server, to: svc.server, service }, 'API connection moved to the Service address');
    this.onService = true;
    this.since = this.now();
    this.source?.retarget(svc.api);
  }

  private fallBack(why: string, holdOff: boolean): void {
    const { bootstrap, service, log } = this.o;
    const retryInMs = holdOff ? this.hold : undefined;
    log.warn(
      { from: service.server, to: bootstrap.server, why, retryInMs },
      'API connection back to the bootstrap address: the Service address does not work',
    );
    this.onService = false;
    this.since = this.now();
    if (holdOff) {
      this.holdUntil = this.now() + this.hold;
      this.hold = Math.min(this.hold * 2, this.o.maxHoldMs ?? 300_000);
    }
    this.source?.retarget(bootstrap.api);
  }

  private synced(): boolean {
    const informers = Object.values(this.source?.status().informers ?? {});
    return informers.every((i) => i.syncedAt !== undefined && i.syncedAt.getTime() >= this.since);
  }

  /** Why the informers do not work through the Service address, or undefined. */
  private trouble(): string | undefined {
    const now = this.now();
    const failAfter = this.o.failAfterMs ?? 5000;
    for (const [kind, i] of Object.entries(this.source?.status().informers ?? {})) {
      if (!i.failingSince) continue;
      const failingMs = now - Math.max(i.failingSince.getTime(), this.since);
      if (failingMs >= failAfter) return `${kind}: ${i.lastError ?? 'failing'} (for ${failingMs} ms)`;
    }
    const syncWithin = this.o.syncWithinMs ?? 15_000;
    if (now - this.since >= syncWithin && !this.synced())
      return `not listed and watched within ${syncWithin} ms of the move`;
    return undefined;
  }
}
