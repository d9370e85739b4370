// The sync loop: source changes → model → desired state → reconcile. Bursts of changes are
// coalesced (kube-proxy's --min-sync-period): at most one sync per period, and a change that
// arrives during a sync schedules exactly one more.
//
// Syncs are partial when they can be (kube-proxy's change trackers): a source that names its
// changed objects gets only the Services they affect re-validated, recompiled, planned and
// written. A full sync (every object) runs at start, after a change the source cannot name (a
// relist, a re-read manifest directory, new node addresses), after a failed sync, and every
// fullResyncPeriodMs, when the maps are read back first so any drift from what the agent believes
// is rewritten.
import type { Logger } from 'pino';
import { ModelTracker } from '../model/tracker.js';
import {
  IdAllocator,
  IncrementalCompiler,
  nodeTopology,
  seedFromPinned,
  type DesiredState,
  type NodeConfig,
} from '../compile/index.js';
import type { Reconciler, SyncResult } from '../dataplane/reconciler.js';
import type { ObjectChange, Source, SourceError, SourcedObject } from '../sources/types.js';
import type { Problem } from './admin.js';

export interface PipelineStatus {
  syncs: number;
  failedSyncs: number;
  lastSuccessAt?: Date;
  lastError?: string;
  lastResult?: SyncResult;
  desired?: DesiredState;
}

export interface PipelineOptions {
  source: Source;
  node: () => NodeConfig;
  reconciler: Reconciler;
  log: Logger;
  minSyncPeriodMs: number;
  /** A full sync that first reads the maps back, this often (default 5 minutes; 0: never). */
  fullResyncPeriodMs?: number;
  /** Called after every successful sync (metrics, health check server). */
  onSynced?: (desired: DesiredState, result: SyncResult, snapshotTriggerTimes: Date[], nodes: SourcedObject[]) => void;
  /** Each problem with an object, as it is logged (the admin endpoint keeps the last few). */
  onProblem?: (problem: Problem) => void;
}

export const DEFAULT_FULL_RESYNC_MS = 5 * 60_000;

export class Pipeline {
  readonly status: PipelineStatus = { syncs: 0, failedSyncs: 0 };
  private readonly ids = new IdAllocator();
  private readonly compiler = new IncrementalCompiler(this.ids);
  private readonly tracker = new ModelTracker();
  private timer: NodeJS.Timeout | undefined;
  private periodic: NodeJS.Timeout | undefined;
  private lastSyncAt = 0;
  private reportedErrors = new Set<string>();
  private reportedOverflow = new Set<string>();
  private stopped = false;
  private seeded = false;
  private warmed = false;
  /** Objects changed since the last sync, by "kind key"; a full sync is due when `fullDue`. */
  private pending = new Map<string, ObjectChange>();
  private fullDue = true;
  private rereadDue = false;
  private sourceErrors: SourceError[] = [];
  private nodes: SourcedObject[] = [];

  constructor(private readonly opts: PipelineOptions) {
    const every = opts.fullResyncPeriodMs ?? DEFAULT_FULL_RESYNC_MS;
    if (every > 0) {
      this.periodic = setInterval(() => {
        this.rereadDue = true;
        this.request();
      }, every);
      this.periodic.unref();
    }
  }

  /** Asks for a sync of @change (undefined: of everything); many requests within the period make one sync. */
  request(change?: ObjectChange): void {
    if (change && this.opts.source.get) this.pending.set(`${change.kind} ${change.key}`, change);
    else this.fullDue = true;
    if (this.stopped || this.timer) return;
    const wait = Math.max(0, this.lastSyncAt + this.opts.minSyncPeriodMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.syncNow();
    }, wait);
  }

  syncNow(): SyncResult | undefined {
    const { log } = this.opts;
    this.lastSyncAt = Date.now();
    this.status.syncs++;
    const changes = [...this.pending.values()];
    const full = this.fullDue || this.rereadDue || !this.compiler.desired;
    this.pending = new Map();
    try {
      const synced = full ? this.fullSync() : this.partialSync(changes);
      this.fullDue = false;
      const { desired, result, triggers } = synced;
      this.status.lastSuccessAt = new Date();
      this.status.lastError = undefined;
      this.status.lastResult = result;
      this.status.desired = desired;
      log.info(
        {
          mode: result.mode,
          services: this.tracker.model.services.size,
          servicePorts: desired.services.size,
          frontends: result.frontends,
          backends: result.backends,
          writes: result.writes,
          deletes: result.deletes,
          invalid: this.tracker.errors().length + this.sourceErrors.length,
          durationMs: Math.round(result.durationMs * 100) / 100,
          ...(desired.maglev
            ? {
                maglev: {
                  tables: desired.maglev.sets.size,
                  entries: desired.maglev.entries,
                  bytes: desired.maglev.bytes,
                  buildMs: Math.round(desired.maglev.buildMs * 100) / 100,
                },
              }
            : {}),
        },
        'sync applied',
      );
      this.reportOverflow(result);
      this.opts.onSynced?.(desired, result, triggers, this.nodes);
      if (!this.warmed && result.mode === 'full') this.warmPartialPath();
      return result;
    } catch (err) {
      // The maps keep their last good state (the reconciler re-read them); the next sync is full.
      this.fullDue = true;
      this.status.failedSyncs++;
      this.status.lastError = (err as Error).message;
      log.error({ err }, 'sync failed; the maps keep their last good state, retrying');
      this.timer ??= setTimeout(() => {
        this.timer = undefined;
        this.syncNow();
      }, 1000);
      return undefined;
    }
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.periodic);
  }

  private fullSync(): { desired: DesiredState; result: SyncResult; triggers: Date[] } {
    const snapshot = this.opts.source.snapshot();
    const { model } = this.tracker.rebuild(snapshot);
    this.sourceErrors = snapshot.errors;
    this.nodes = snapshot.nodes;
    const node = this.opts.node();
    if (!this.seeded) {
      // After a restart the pinned maps hold ids: give surviving objects the same ones, so the
      // first sync rewrites nothing and affinity and conntrack keep pointing at the right backends.
      const seed = seedFromPinned(this.ids, model, node, this.opts.reconciler.current);
      this.seeded = true;
      this.opts.log.info({ matched: seed.matched, reserved: seed.reserved }, 'ids recovered from pinned maps');
    }
    if (this.rereadDue) {
      this.rereadDue = false;
      this.opts.reconciler.reread();
    }
    const desired = this.compiler.full(model, node, this.status.desired);
    this.reportProblems(desired);
    const result = { ...this.opts.reconciler.sync(desired), mode: 'full' as const };
    return { desired, result, triggers: model.triggerTimes };
  }

  /**
   * Runs the partial-sync path once, right after the first full sync, for a Service that did not
   * change: it writes nothing. Until a function has run, V8 has not compiled it (it compiles
   * lazily, on the first call), and the first change after a start paid for compiling the whole
   * partial path: 6–13 ms where the later ones take ~2 at 10,000 Services, and with 100 changes
   * that one was the p99 (bench/README.md, fourteenth round).
   */
  private warmPartialPath(): void {
    this.warmed = true;
    const key = this.tracker.model.services.keys().next().value;
    if (key === undefined || !this.opts.source.get) return;
    try {
      const started = performance.now();
      const { desired, result } = this.partialSync([{ kind: 'services', key }]);
      this.status.desired = desired;
      const ms = Math.round((performance.now() - started) * 100) / 100;
      this.opts.log.debug(
        { service: key, writes: result.writes, deletes: result.deletes, ms },
        'partial sync path warmed',
      );
    } catch (err) {
      this.fullDue = true; // the maps keep what the full sync wrote; the next sync is full
      this.opts.log.warn({ err, service: key }, 'warming the partial sync path failed');
    }
  }

  private partialSync(changes: ObjectChange[]): { desired: DesiredState; result: SyncResult; triggers: Date[] } {
    const dirty = new Set<string>();
    const triggers: Date[] = [];
    const zone = nodeTopology(this.tracker.model, this.opts.node()).zone;
    for (const change of changes) {
      const now = this.opts.source.get!(change);
      const affected = this.tracker.apply(change, now?.object, now?.origin ?? 'apiserver');
      for (const key of affected.services) dirty.add(key);
      if (affected.trigger) triggers.push(affected.trigger);
      if (change.kind === 'nodes')
        this.nodes = this.nodes.filter((n) => nodeKey(n) !== change.key).concat(now ? [now] : []);
    }
    const model = this.tracker.model;
    // Compile reads a Node only for this node's zone (topology hints): a new zone moves every
    // hinted set, so that takes the full path. Any other Node change (status, another label)
    // changes no map.
    if (nodeTopology(model, this.opts.node()).zone !== zone) return this.fullSync();
    const { desired, scope } = this.compiler.update(model, this.opts.node(), dirty);
    this.reportProblems(desired);
    const result = { ...this.opts.reconciler.syncScoped(desired, scope), mode: 'partial' as const };
    return { desired, result, triggers };
  }

  /** A port a full map left out is logged once (until it is programmed); when the sync also
   *  freed entries, a full sync follows to try it again in the room they left. */
  private reportOverflow(result: SyncResult): void {
    const now = new Set<string>();
    for (const o of result.overflow ?? []) {
      now.add(o.message);
      if (this.reportedOverflow.has(o.message)) continue;
      this.opts.log.error({ servicePort: o.servicePort, map: o.map }, o.message);
      this.opts.onProblem?.({ kind: 'Service', object: o.servicePort.replace(/:[^:]*$/, ''), message: o.message });
    }
    this.reportedOverflow = now;
    if (now.size > 0 && result.deletes > 0) this.request();
  }

  private reportProblems(desired: DesiredState): void {
    this.reportNewErrors([
      ...this.sourceErrors.map((e) => ({
        error: `${e.origin}: ${e.message}`,
        file: e.origin,
        problem: { kind: 'file', object: e.origin, message: e.message },
      })),
      ...[...this.tracker.errors(), ...desired.conflicts, ...desired.refused].map((e) => ({
        error: e.toString(),
        file: e.origin,
        object: `${e.kind} ${e.namespace}/${e.name}`,
        field: e.field,
        problem: { kind: e.kind, object: `${e.namespace}/${e.name}`, field: e.field || undefined, message: e.message },
      })),
    ]);
  }

  /** Invalid objects are logged when they first appear, not on every sync. */
  private reportNewErrors(
    problems: Array<{ error: string; file: string; object?: string; field?: string; problem: Problem }>,
  ): void {
    const now = new Set(problems.map((p) => p.error));
    for (const { problem, ...p } of problems) {
      if (this.reportedErrors.has(p.error)) continue;
      this.opts.log.warn(p, 'invalid object skipped');
      this.opts.onProblem?.(problem);
    }
    this.reportedErrors = now;
  }
}

function nodeKey(n: SourcedObject): string {
  return `/${(n.object.metadata as { name?: string } | undefined)?.name ?? ''}`;
}
