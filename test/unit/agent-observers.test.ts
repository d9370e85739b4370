// The glue between the sync loop and health/metrics (createObservers in src/agent/observers.ts): the
// hooks the agent calls, fed with a fake pipeline and desired state — no kernel needed.
import { afterEach, describe, expect, it } from 'vitest';
import type { DesiredState, ServicePortInfo } from '../../src/compile/types.js';
import type { SyncResult } from '../../src/dataplane/reconciler.js';
import type { SourcedObject } from '../../src/sources/types.js';
import { waitFor } from '../lib/wait.js';
import { freePort } from '../lib/ports.js';
import { createObservers } from '../../src/agent/observers.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const result: SyncResult = { frontends: 1, backends: 2, sets: 1, writes: 4, deletes: 0, durationMs: 3 };

function desired(hcPort: number, localEndpoints: number): DesiredState {
  const info = { namespace: 'default', name: 'web', portName: 'http', port: 80, protocol: 'TCP' } as ServicePortInfo;
  return {
    frontends: [],
    sets: new Map(),
    backends: new Map(),
    conflicts: [],
    refused: [],
    services: new Map([[1, info]]),
    healthCheck: [{ namespace: 'default', name: 'web', nodePort: hcPort, localEndpoints }],
  };
}

describe('createObservers', () => {
  it('feeds health, node ports and metrics from the sync hooks', async () => {
    const hcPort = await freePort();
    const obs = createObservers({ minSyncPeriodMs: 100, nodeName: 'n1', nodePortHost: '127.0.0.1' });
    cleanup.push(() => obs.nodePorts.stop());
    const status: { lastError?: string; failedSyncs: number } = { failedSyncs: 0 };
    obs.attach({ status }, () => new Map([[1, { packets: 9n, bytes: 900n, newFlows: 2n, noBackend: 0n }]]));

    expect(obs.health.check().healthy).toBe(true); // the initial sync is pending, not late
    obs.hooks.changed!();
    obs.hooks.synced!(desired(hcPort, 2), result, []);
    // The hook alone must open the health check port: wait for it, don't open it ourselves.
    await waitFor(() => obs.nodePorts.openPorts().get('default/web') === hcPort, 3000);
    let res = await fetch(`http://127.0.0.1:${hcPort}/`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      service: { namespace: 'default', name: 'web' },
      localEndpoints: 2,
      serviceProxyHealthy: true,
    });

    const text = await obs.metrics.scrape();
    expect(text).toContain('kubeproxy_sync_proxy_rules_duration_seconds_count 1');
    expect(text).toMatch(
      /^switchyard_service_packets_total\{namespace="default",service="web",port="http",protocol="TCP"\} 9$/m,
    );

    // A failing sync: health turns unhealthy, the node port says so, metrics count it.
    status.lastError = 'map full';
    status.failedSyncs = 1;
    expect(obs.health.check()).toMatchObject({ healthy: false, reason: 'last sync failed' });
    res = await fetch(`http://127.0.0.1:${hcPort}/`);
    expect(res.status).toBe(503);
    expect(((await res.json()) as { serviceProxyHealthy: boolean }).serviceProxyHealthy).toBe(false);
    expect(await obs.metrics.scrape()).toContain('switchyard_sync_failures_total 1');
  });

  it('marks the node ineligible when its Node is tainted for deletion', async () => {
    const nodes = (node: Record<string, unknown>): SourcedObject[] => [{ object: node, origin: 'apiserver' }];
    const obs = createObservers({ minSyncPeriodMs: 100, nodeName: 'n1', nodePortHost: '127.0.0.1' });
    cleanup.push(() => obs.nodePorts.stop());
    obs.hooks.synced!(desired(await freePort(), 0), result, [], nodes({ metadata: { name: 'n1' }, spec: {} }));
    expect(obs.health.check().nodeEligible).toBe(true);
    const tainted = {
      metadata: { name: 'n1' },
      spec: { taints: [{ key: 'ToBeDeletedByClusterAutoscaler', effect: 'NoSchedule' }] },
    };
    obs.hooks.synced!(desired(await freePort(), 0), result, [], nodes(tainted));
    expect(obs.health.check().nodeEligible).toBe(false);
  });

  it('never lets an observer error fail the sync', () => {
    const obs = createObservers({ minSyncPeriodMs: 100, nodeName: 'n1', nodePortHost: '127.0.0.1' });
    cleanup.push(() => obs.nodePorts.stop());
    const broken = {
      find: () => {
        throw new Error('boom');
      },
    } as unknown as SourcedObject[];
    expect(() => obs.hooks.synced!(desired(0, 0), result, [], broken)).not.toThrow();
  });
});
