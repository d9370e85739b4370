// /healthz, /livez and the healthCheckNodePort servers, answering like kube-proxy's.
// Loopback only, ephemeral ports.
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../lib/ports.js';
import {
  healthzServer,
  nodeEligible,
  ProxyHealth,
  RetryingServer,
  ServiceHealthServers,
} from '../../src/agent/health.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function get(
  port: number,
  path = '/',
): Promise<{ status: number; body: Record<string, unknown>; type: string | null }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return {
    status: res.status,
    body: (await res.json()) as Record<string, unknown>,
    type: res.headers.get('content-type'),
  };
}

describe('ProxyHealth', () => {
  it('is healthy while starting up and after syncs; unhealthy when a change waits too long', () => {
    let now = 1_000_000;
    const h = new ProxyHealth({ timeoutMs: 10_000, now: () => now });
    expect(h.check().healthy).toBe(true);
    h.queued();
    now += 9_999;
    expect(h.check().healthy).toBe(true);
    h.queued(); // a later change does not restart the clock
    now += 1;
    expect(h.check()).toMatchObject({ healthy: false, reason: expect.stringMatching(/pending for 10\.0s/) });
    h.updated();
    expect(h.check()).toMatchObject({ healthy: true, lastUpdated: new Date(now) });
  });

  it('is unhealthy while the last sync failed', () => {
    let error: string | undefined = 'map full';
    const h = new ProxyHealth({ timeoutMs: 10_000, lastSyncError: () => error });
    expect(h.check()).toMatchObject({ healthy: false, reason: 'last sync failed' });
    error = undefined;
    expect(h.check().healthy).toBe(true);
  });

  it('reports the last real update while unhealthy', () => {
    let now = 5_000;
    const h = new ProxyHealth({ timeoutMs: 1_000, now: () => now });
    h.updated();
    h.queued();
    now = 9_000;
    expect(h.check()).toMatchObject({ healthy: false, lastUpdated: new Date(5_000), currentTime: new Date(9_000) });
  });
});

describe('nodeEligible', () => {
  it('follows kube-proxy: deleted or tainted for deletion by the autoscaler → not eligible', () => {
    expect(nodeEligible(undefined)).toBe(true);
    expect(nodeEligible({ metadata: { name: 'n' }, spec: {} })).toBe(true);
    expect(nodeEligible({ metadata: { name: 'n', deletionTimestamp: '2024-01-01T00:00:00Z' } })).toBe(false);
    expect(
      nodeEligible({
        metadata: { name: 'n' },
        spec: { taints: [{ key: 'ToBeDeletedByClusterAutoscaler', effect: 'NoSchedule' }] },
      }),
    ).toBe(false);
    expect(nodeEligible({ metadata: { name: 'n' }, spec: { taints: [{ key: 'other' }] } })).toBe(true);
  });
});

describe('healthz server', () => {
  async function start(h: ProxyHealth): Promise<number> {
    const srv = healthzServer({ host: '127.0.0.1', port: 0 }, h);
    await srv.start();
    cleanup.push(() => srv.stop());
    return srv.port!;
  }

  it("answers 200 with kube-proxy's JSON while syncs succeed, 503 once they fail", async () => {
    const status: { lastError?: string } = {};
    const h = new ProxyHealth({ timeoutMs: 10_000, lastSyncError: () => status.lastError });
    const port = await start(h);
    h.queued();
    h.updated();

    let r = await get(port, '/healthz');
    expect(r.status).toBe(200);
    expect(r.type).toBe('application/json');
    expect(Object.keys(r.body).sort()).toEqual(['currentTime', 'lastUpdated', 'nodeEligible']);
    expect(r.body.nodeEligible).toBe(true);
    expect(Date.parse(r.body.lastUpdated as string)).toBeGreaterThan(Date.now() - 60_000);
    expect(Date.parse(r.body.currentTime as string)).not.toBeNaN();
    r = await get(port, '/livez');
    expect(r.status).toBe(200);
    expect(Object.keys(r.body).sort()).toEqual(['currentTime', 'lastUpdated']);

    status.lastError = 'bpf_map_update_batch: map full';
    for (const path of ['/healthz', '/livez']) {
      r = await get(port, path);
      expect(r.status, path).toBe(503);
      expect(r.body.reason).toBe('last sync failed');
    }
    status.lastError = undefined;
    expect((await get(port, '/healthz')).status).toBe(200);
  });

  it('answers 503 when changes stay pending past the timeout', async () => {
    let now = Date.now();
    const h = new ProxyHealth({ timeoutMs: 10_000, now: () => now });
    const port = await start(h);
    h.queued();
    expect((await get(port, '/healthz')).status).toBe(200);
    now += 10_001;
    const r = await get(port, '/healthz');
    expect(r.status).toBe(503);
    expect(r.body.reason).toMatch(/changes pending/);
  });

  it('fails /healthz but not /livez while the node is being deleted', async () => {
    const h = new ProxyHealth({ timeoutMs: 10_000 });
    const port = await start(h);
    h.setNodeEligible(false);
    const r = await get(port, '/healthz');
    expect(r.status).toBe(503);
    expect(r.body.nodeEligible).toBe(false);
    expect((await get(port, '/livez')).status).toBe(200);
  });

  it('answers 404 elsewhere', async () => {
    const port = await start(new ProxyHealth({ timeoutMs: 1 }));
    expect((await get(port, '/metrics')).status).toBe(404);
  });

  it('keeps trying when its port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const { port } = blocker.address() as AddressInfo;
    const srv = new RetryingServer(
      'healthz server',
      { host: '127.0.0.1', port },
      (_q, s) => s.end('{}'),
      undefined,
      50,
    );
    cleanup.push(() => srv.stop());
    await srv.start();
    expect(srv.port).toBeUndefined();
    await new Promise<void>((r) => blocker.close(() => r()));
    for (let i = 0; i < 50 && srv.port === undefined; i++) await new Promise((r) => setTimeout(r, 20));
    expect(srv.port).toBe(port);
  });
});

describe('health check node port servers', () => {
  it('opens a listener per entry and answers like kube-proxy: 200 with local endpoints, else 503', async () => {
    const [p1, p2] = [await freePort(), await freePort()];
    let proxyHealthy = true;
    const servers = new ServiceHealthServers({ host: '127.0.0.1', proxyHealthy: () => proxyHealthy });
    cleanup.push(() => servers.stop());
    await servers.sync([
      { namespace: 'default', name: 'web', nodePort: p1, localEndpoints: 2 },
      { namespace: 'shop', name: 'cart', nodePort: p2, localEndpoints: 0 },
    ]);
    let r = await get(p1);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      service: { namespace: 'default', name: 'web' },
      localEndpoints: 2,
      serviceProxyHealthy: true,
    });
    r = await get(p2, '/any/path');
    expect(r.status).toBe(503);
    expect(r.body).toEqual({
      service: { namespace: 'shop', name: 'cart' },
      localEndpoints: 0,
      serviceProxyHealthy: true,
    });

    proxyHealthy = false;
    r = await get(p1);
    expect(r.status).toBe(503);
    expect(r.body.serviceProxyHealthy).toBe(false);
  });

  it('reconciles: counts change in place, gone services close, moved ports reopen', async () => {
    const [p1, p2, p3] = [await freePort(), await freePort(), await freePort()];
    const servers = new ServiceHealthServers({ host: '127.0.0.1' });
    cleanup.push(() => servers.stop());
    await servers.sync([
      { namespace: 'a', name: 'one', nodePort: p1, localEndpoints: 0 },
      { namespace: 'a', name: 'two', nodePort: p2, localEndpoints: 1 },
    ]);
    expect((await get(p1)).status).toBe(503);

    await servers.sync([
      { namespace: 'a', name: 'one', nodePort: p1, localEndpoints: 3 },
      { namespace: 'a', name: 'two', nodePort: p3, localEndpoints: 1 },
    ]);
    expect(await get(p1)).toMatchObject({ status: 200, body: { localEndpoints: 3 } });
    await expect(fetch(`http://127.0.0.1:${p2}/`)).rejects.toThrow();
    expect((await get(p3)).status).toBe(200);
    expect(servers.openPorts()).toEqual(
      new Map([
        ['a/one', p1],
        ['a/two', p3],
      ]),
    );

    await servers.sync([]);
    expect(servers.openPorts().size).toBe(0);
    await expect(fetch(`http://127.0.0.1:${p1}/`)).rejects.toThrow();
  });

  it('retries a port it could not bind at the next sync', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const { port } = blocker.address() as AddressInfo;
    const servers = new ServiceHealthServers({ host: '127.0.0.1' });
    cleanup.push(() => servers.stop());
    const entry = { namespace: 'a', name: 'busy', nodePort: port, localEndpoints: 1 };
    await servers.sync([entry]);
    expect(servers.openPorts().size).toBe(0);
    await new Promise<void>((r) => blocker.close(() => r()));
    await servers.sync([entry]);
    expect(servers.openPorts()).toEqual(new Map([['a/busy', port]]));
    expect((await get(port)).status).toBe(200);
  });
});
