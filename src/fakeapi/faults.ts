// Scriptable faults of the double, per kind. One-shot faults ('http410', 'http500') are
// counters consumed by the next list/watch requests of that kind; the others act on the open
// streams right away. A stall also holds new lists (no bytes at all) and new watches (headers,
// then nothing) until unstall().
import type { ServerResponse } from 'node:http';
import type { ApiKind } from '../model/kinds.js';
import type { ObjectStore } from './store.js';
import { resetSocket, statusObject, type WatchHub } from './watch.js';

export type Fault = 'close' | 'expire410' | 'error500' | 'http410' | 'http500' | 'stall' | 'reset' | 'garbage';
export const FAULTS: readonly Fault[] = [
  'close',
  'expire410',
  'error500',
  'http410',
  'http500',
  'stall',
  'reset',
  'garbage',
];

interface Held {
  kind: ApiKind;
  res: ServerResponse;
  run: () => void;
}

export class FaultState {
  private readonly http500 = new Map<ApiKind, number>();
  private readonly http410 = new Map<ApiKind, number>();
  private readonly held = new Set<Held>();

  constructor(
    private readonly store: ObjectStore,
    private readonly hub: WatchHub,
  ) {}

  inject(kinds: ApiKind[], fault: Fault, count = 1): void {
    for (const kind of kinds) {
      switch (fault) {
        case 'close':
          this.hub.closeAll(kind);
          break;
        case 'expire410':
          this.store.compact(kind);
          this.hub.expireAll(kind, `too old resource version: expired by fault (${this.store.oldest(kind)})`);
          break;
        case 'error500':
          this.hub.errorAll(kind, statusObject(500, 'InternalError', 'injected fault: error500'));
          break;
        case 'http410':
          this.http410.set(kind, (this.http410.get(kind) ?? 0) + count);
          break;
        case 'http500':
          this.http500.set(kind, (this.http500.get(kind) ?? 0) + count);
          break;
        case 'stall':
          this.hub.stall(kind);
          break;
        case 'garbage':
          this.hub.garbageAll(kind);
          break;
        case 'reset':
          this.hub.resetAll(kind);
          for (const h of this.held) if (h.kind === kind) resetSocket(h.res.socket);
          break;
        default:
          throw new Error(`unknown fault: ${String(fault)}`);
      }
    }
  }

  /** Consumes one pending 'http500' (any request) or 'http410' (watches) of the kind. */
  take(kind: ApiKind, watch: boolean): 500 | 410 | undefined {
    const n500 = this.http500.get(kind) ?? 0;
    if (n500 > 0) {
      this.http500.set(kind, n500 - 1);
      return 500;
    }
    const n410 = this.http410.get(kind) ?? 0;
    if (watch && n410 > 0) {
      this.http410.set(kind, n410 - 1);
      return 410;
    }
    return undefined;
  }

  /** Runs a list now, or holds it while the kind is stalled. */
  runOrHold(kind: ApiKind, res: ServerResponse, run: () => void): void {
    if (!this.hub.isStalled(kind)) {
      run();
      return;
    }
    const h: Held = { kind, res, run };
    this.held.add(h);
    res.on('close', () => this.held.delete(h));
  }

  unstall(kind?: ApiKind): void {
    this.hub.unstall(kind);
    for (const h of [...this.held]) {
      if (kind && h.kind !== kind) continue;
      this.held.delete(h);
      if (!h.res.destroyed && !h.res.writableEnded) h.run();
    }
  }

  clear(): void {
    this.http500.clear();
    this.http410.clear();
    this.unstall();
  }
}
