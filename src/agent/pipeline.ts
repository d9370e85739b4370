// The sync loop: source snapshot → model → desired state → reconcile. Bursts of changes are
// coalesced (kube-proxy's --min-sync-period): at most one sync per period, and a change that
// arrives during a sync schedules exactly one more.
import type { Logger } from 'pino';
import { buildModel } from '../model/index.js';
import { compile, IdAllocator, seedFromPinned, type DesiredState, type NodeConfig } from '../compile/index.js';
import type { Reconciler, SyncResult } from '../dataplane/reconciler.js';
import type { Source, SourcedObject } from '../sources/types.js';

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
  /** Called after every successful sync (metrics, health check server). */
  onSynced?: (desired: DesiredState, result: SyncResult, snapshotTriggerTimes: Date[], nodes: SourcedObject[]) => void;
}

export class Pipeline {
  readonly status: PipelineStatus = { syncs: 0, failedSyncs: 0 };
  private readonly ids = new IdAllocator();
  private timer: NodeJS.Timeout | undefined;
  private lastSyncAt = 0;
  private reportedErrors = new Set<string>();
  private stopped = false;
  private seeded = false;
  private readonly ipv6Reported = new Set<string>();

  constructor(private readonly opts: PipelineOptions) {}

  /** Asks for a sync; many requests within the period make one sync. */
  request(): void {
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
    try {
      const snapshot = this.opts.source.snapshot();
      const { model, errors } = buildModel(snapshot);
      const node = this.opts.node();
      if (!this.seeded) {
        // After a restart the pinned maps hold ids: give surviving objects the same ones, so the
        // first sync rewrites nothing and affinity and conntrack keep pointing at the right backends.
        const seed = seedFromPinned(this.ids, model, node, this.opts.reconciler.current);
        this.seeded = true;
        log.info({ matched: seed.matched, reserved: seed.reserved }, 'ids recovered from pinned maps');
      }
      this.reportIpv6(model.services.values());
      const desired = compile(model, node, this.ids, this.status.desired);
      this.reportNewErrors([
        ...snapshot.errors.map((e) => ({ error: `${e.origin}: ${e.message}`, file: e.origin })),
        ...[...errors, ...desired.conflicts, ...desired.refused].map((e) => ({
          error: e.toString(), file: e.origin, object: `${e.kind} ${e.namespace}/${e.name}`, field: e.field,
        })),
      ]);
      const result = this.opts.reconciler.sync(desired);
      this.status.lastSuccessAt = new Date();
      this.status.lastError = undefined;
      this.status.lastResult = result;
      this.status.desired = desired;
      log.info({
        services: model.services.size, servicePorts: desired.services.size, frontends: result.frontends,
        backends: result.backends, writes: result.writes, deletes: result.deletes,
        invalid: errors.length + snapshot.errors.length, durationMs: Math.round(result.durationMs * 100) / 100,
        ...(desired.maglev ? { maglev: {
          tables: desired.maglev.sets.size, entries: desired.maglev.entries, bytes: desired.maglev.bytes,
          buildMs: Math.round(desired.maglev.buildMs * 100) / 100,
        } } : {}),
      }, 'sync applied');
      const triggers = model.triggerTimes;
      this.opts.onSynced?.(desired, result, triggers, snapshot.nodes);
      return result;
    } catch (err) {
      this.status.failedSyncs++;
      this.status.lastError = (err as Error).message;
      log.error({ err }, 'sync failed; the maps keep their last good state, retrying');
      this.timer ??= setTimeout(() => { this.timer = undefined; this.syncNow(); }, 1000);
      return undefined;
    }
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private reportIpv6(services: Iterable<{ namespace: string; name: string; ipv6Ignored?: boolean }>): void {
    for (const svc of services) {
      const key = `${svc.namespace}/${svc.name}`;
      if (!svc.ipv6Ignored || this.ipv6Reported.has(key)) continue;
      this.ipv6Reported.add(key);
      this.opts.log.warn({ service: key }, 'IPv6 is not supported yet: this Service is served on IPv4 only');
    }
  }

  /** Invalid objects are logged when they first appear, not on every sync. */
  private reportNewErrors(problems: Array<{ error: string; file: string; object?: string; field?: string }>): void {
    const now = new Set(problems.map((p) => p.error));
    for (const p of problems) if (!this.reportedErrors.has(p.error)) this.opts.log.warn(p, 'invalid object skipped');
    this.reportedErrors = now;
  }
}
