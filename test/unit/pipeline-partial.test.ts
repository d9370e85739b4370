// The pipeline's choice between full and partial syncs, with a fake source and a recording
// reconciler: full at start, after an unnamed change and periodically (maps read back first);
// partial for named changes, with only the affected Service in scope.
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Pipeline } from '../../src/agent/pipeline.js';
import type { CompileScope, DesiredState } from '../../src/compile/index.js';
import { emptyState } from '../../src/dataplane/plan.js';
import type { Reconciler, SyncResult } from '../../src/dataplane/reconciler.js';
import type { ObjectChange, Source, SourcedObject } from '../../src/sources/types.js';
import { waitFor } from '../lib/wait.js';

type Obj = Record<string, unknown>;
const svc = (name: string, ip: string): Obj => ({
  kind: 'Service',
  metadata: { name, namespace: 'default' },
  spec: { clusterIP: ip, ports: [{ name: 'http', port: 80, targetPort: 80 }] },
});
const slice = (name: string, addrs: string[]): Obj => ({
  kind: 'EndpointSlice',
  addressType: 'IPv4',
  metadata: { name: `${name}-1`, namespace: 'default', labels: { 'kubernetes.io/service-name': name } },
  ports: [{ name: 'http', port: 80 }],
  endpoints: addrs.map((a) => ({ addresses: [a], conditions: { ready: true } })),
});

class FakeSource implements Source {
  readonly name = 'fake';
  readonly objects = new Map<string, Obj>(); // "kind key"
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  snapshot() {
    const of = (kind: string): SourcedObject[] =>
      [...this.objects].filter(([k]) => k.startsWith(`${kind} `)).map(([, object]) => ({ object, origin: 'fake' }));
    return { services: of('services'), endpointSlices: of('endpointSlices'), nodes: of('nodes'), errors: [] };
  }
  get(change: ObjectChange): SourcedObject | undefined {
    const object = this.objects.get(`${change.kind} ${change.key}`);
    return object && { object, origin: 'fake' };
  }
}

/** Records what the pipeline asked of it. */
function recorder() {
  const calls: string[] = [];
  const result = (): SyncResult => ({ frontends: 0, backends: 0, sets: 0, writes: 0, deletes: 0, durationMs: 0 });
  const rec = {
    current: emptyState(),
    sync: (d: DesiredState) => {
      calls.push(`full ${d.services.size}`);
      return result();
    },
    syncScoped: (d: DesiredState, scope: CompileScope) => {
      calls.push(`partial ${[...scope.services].map((id) => d.services.get(id)?.name ?? `gone ${id}`).join(',')}`);
      return result();
    },
    reread: () => calls.push('reread'),
  };
  return { calls, reconciler: rec as unknown as Reconciler };
}

/** A pipeline on node 'n' that has run its first (full) sync. */
function started(source: Source, reconciler: Reconciler, extra: { fullResyncPeriodMs?: number } = {}): Pipeline {
  const p = new Pipeline({
    source,
    node: () => ({ nodeName: 'n', nodePortAddresses: [] }),
    reconciler,
    log: pino({ level: 'silent' }),
    minSyncPeriodMs: 0,
    ...extra,
  });
  p.syncNow();
  return p;
}

describe('Pipeline: full and partial syncs', () => {
  let pipeline: Pipeline | undefined;
  afterEach(() => pipeline?.stop());

  it('syncs in full at start and after an unnamed change, partially for a named one', async () => {
    const source = new FakeSource();
    source.objects.set('services default/a', svc('a', '10.96.0.1'));
    source.objects.set('services default/b', svc('b', '10.96.0.2'));
    source.objects.set('endpointSlices default/a-1', slice('a', ['10.244.0.1']));
    const { calls, reconciler } = recorder();
    pipeline = started(source, reconciler);
    // The full sync, then the partial path run once for an unchanged Service (warmPartialPath):
    // not a sync of its own, and the last result is still the full one.
    expect(calls).toEqual(['full 2', 'partial a']);
    expect(pipeline.status.syncs).toBe(1);
    expect(pipeline.status.lastResult?.mode).toBe('full');

    source.objects.set('endpointSlices default/a-1', slice('a', ['10.244.0.1', '10.244.0.2']));
    pipeline.request({ kind: 'endpointSlices', key: 'default/a-1' });
    await waitFor(() => calls.length === 3, 2000);
    expect(calls[2]).toBe('partial a');
    expect(pipeline.status.lastResult?.mode).toBe('partial');

    source.objects.delete('services default/b');
    pipeline.request({ kind: 'services', key: 'default/b' });
    await waitFor(() => calls.length === 4, 2000);
    expect(calls[3]).toMatch(/^partial gone \d+$/);

    pipeline.request();
    await waitFor(() => calls.length === 5, 2000);
    expect(calls[4]).toBe('full 1'); // warmed once: no partial after this full sync
  });

  it('a Node change syncs partially (nothing to write) unless it moves this node to another zone', async () => {
    const node = (zone: string, note: string): Obj => ({
      kind: 'Node',
      metadata: { name: 'n', labels: { 'topology.kubernetes.io/zone': zone }, annotations: { note } },
    });
    const source = new FakeSource();
    source.objects.set('services default/a', svc('a', '10.96.0.1'));
    source.objects.set('nodes /n', node('zone-a', '1'));
    const { calls, reconciler } = recorder();
    pipeline = started(source, reconciler);
    // A status or annotation update, as kubelet makes every few minutes: no Service is recompiled.
    source.objects.set('nodes /n', node('zone-a', '2'));
    pipeline.request({ kind: 'nodes', key: '/n' });
    await waitFor(() => calls.length === 3, 2000);
    expect(calls).toEqual(['full 1', 'partial a', 'partial ']); // the second: warmPartialPath
    // A new zone moves every topology-hinted set: the full path.
    source.objects.set('nodes /n', node('zone-b', '2'));
    pipeline.request({ kind: 'nodes', key: '/n' });
    await waitFor(() => calls.length === 4, 2000);
    expect(calls[3]).toBe('full 1');
  });

  it('reads the maps back before the periodic full sync', async () => {
    const source = new FakeSource();
    source.objects.set('services default/a', svc('a', '10.96.0.1'));
    const { calls, reconciler } = recorder();
    pipeline = started(source, reconciler, { fullResyncPeriodMs: 50 });
    await waitFor(() => calls.length >= 4, 2000);
    expect(calls.slice(0, 4)).toEqual(['full 1', 'partial a', 'reread', 'full 1']);
  });
});
