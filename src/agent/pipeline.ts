// The sync loop: source snapshot → model → desired state → reconcile. Bursts of changes are
// coalesced (kube-proxy's --min-sync-period): at most one sync per period, and a change that
// arrives during a sync schedules exactly one more.
import type { Logger } from 'pino';
import { buildModel } from '../model/index.js';
import { compile, IdAllocator, type DesiredState, type NodeConfig } from '../compile/index.js';
import type { Reconciler, SyncResult } from '../dataplane/reconciler.js';
import type { Source } from '../sources/types.js';

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
  onSynced?: (desired: DesiredState, result: SyncResult, snapshotTriggerTimes: Date[]) => void;
}

export class Pipeline {
  readonly status: PipelineStatus = { syncs: 0, failedSyncs: 0 };
  private readonly ids = new IdAllocator();
  private timer: NodeJS.Timeout | undefined;
  private lastSyncAt = 0;
  private reportedErrors = new Set<string>();
  private stopped = false;

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
      const desired = compile(model, this.opts.node(), this.ids);
      this.reportNewErrors([
        ...snapshot.errors.map((e) => `${e.origin}: ${e.message}`),
        ...errors.map((e) => e.toString()),
        ...(desired.conflicts ?? []).map((e) => e.toString()),
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
      }, 'sync applied');
      const triggers = model.triggerTimes ?? [];
      this.opts.onSynced?.(desired, result, triggers);
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

  /** Invalid objects are logged when they first appear, not on every sync. */
  private reportNewErrors(messages: string[]): void {
    const now = new Set(messages);
    for (const m of now) if (!this.reportedErrors.has(m)) this.opts.log.warn({ error: m }, 'invalid object skipped');
    this.reportedErrors = now;
  }
}
