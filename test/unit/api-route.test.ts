// loadApiRoutes (src/k8s/kubeconfig.ts): which kubeconfigs give a Service route. And ApiRoute (src/agent/api-route.ts): when the agent's API connection moves to the `kubernetes`
// Service address and when it goes back to --apiserver-host, driven tick by tick with a fake
// clock, a fake source and a fake pins check.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ApiClient } from '../../src/k8s/client.js';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { ApiRoute, type RoutedSource, type ServiceState } from '../../src/agent/api-route.js';
import { loadApiRoutes } from '../../src/k8s/kubeconfig.js';

const BOOT = { server: 'http://10.250.0.11:6443' } as unknown as ApiClient;
const SVC = { server: 'http://10.96.0.1:443' } as unknown as ApiClient;
const OK: ServiceState = { ok: true, service: 'default/kubernetes:https/TCP' };
const NO_ENDPOINTS: ServiceState = { ok: false, why: 'default/kubernetes:https/TCP has no endpoints' };

type Informer = { failingSince?: Date; syncedAt?: Date; lastError?: string };

function harness(initialState: ServiceState) {
  let t = 1_000_000;
  let state = initialState;
  const informers: Record<string, Informer> = { services: {}, endpointSlices: {}, nodes: {} };
  const targets: string[] = [];
  const lines: Array<{ msg: string; [k: string]: unknown }> = [];
  const log = pino({ level: 'info' }, { write: (l: string) => lines.push(JSON.parse(l)) });
  const route = new ApiRoute({
    bootstrap: { api: BOOT, server: 'http://10.250.0.11:6443' },
    service: { api: SVC, server: 'http://10.96.0.1:443', addr: '10.96.0.1', port: 443 },
    check: () => state,
    log,
    failAfterMs: 5000,
    syncWithinMs: 15_000,
    holdMs: 30_000,
    maxHoldMs: 120_000,
    now: () => t,
  });
  const source: RoutedSource = {
    retarget: (kc) => targets.push((kc as unknown as { server: string }).server),
    status: () => ({ informers }),
  };
  const first = (route.initial() as unknown as { server: string }).server;
  route.start(source);
  route.stop(); // ticks are driven by hand
  return {
    route,
    first,
    targets,
    lines,
    advance: (ms: number) => {
      t += ms;
      route.tick();
    },
    set: (s: ServiceState) => {
      state = s;
    },
    syncAll: () => {
      for (const k of Object.keys(informers)) informers[k] = { syncedAt: new Date(t) };
    },
    failAll: (err: string) => {
      for (const k of Object.keys(informers)) informers[k] = { failingSince: new Date(t), lastError: err };
    },
  };
}

describe('ApiRoute', () => {
  it('starts on the bootstrap address and moves once the Service address is programmed, logging both', () => {
    const h = harness(NO_ENDPOINTS);
    expect(h.first).toBe('http://10.250.0.11:6443');
    h.advance(500);
    expect(h.targets).toEqual([]);
    h.set(OK);
    h.advance(500);
    expect(h.targets).toEqual(['http://10.96.0.1:443']);
    expect(h.route.current).toBe('service');
    expect(h.lines.at(-1)).toMatchObject({
      msg: 'API connection moved to the Service address',
      from: 'http://10.250.0.11:6443',
      to: 'http://10.96.0.1:443',
      service: 'default/kubernetes:https/TCP',
    });
  });

  it('starts on the Service address when the pins already serve it (a restart)', () => {
    const h = harness(OK);
    expect(h.first).toBe('http://10.96.0.1:443');
    expect(h.route.current).toBe('service');
  });

  it('goes back at once when the Service loses its endpoints, and returns when they are back', () => {
    const h = harness(OK);
    h.syncAll();
    h.advance(500);
    h.set(NO_ENDPOINTS);
    h.advance(500);
    expect(h.targets).toEqual(['http://10.250.0.11:6443']);
    expect(h.lines.at(-1)).toMatchObject({
      msg: 'API connection back to the bootstrap address: the Service address does not work',
      why: 'default/kubernetes:https/TCP has no endpoints',
    });
    h.set(OK);
    h.advance(500); // no hold-off: the Service was not programmed, nothing was wrong with it
    expect(h.targets).toEqual(['http://10.250.0.11:6443', 'http://10.96.0.1:443']);
  });

  it('goes back after failing 5 s through the Service address, and waits a doubling hold-off', () => {
    const h = harness(OK);
    h.failAll('connect ECONNREFUSED 10.96.0.1:443');
    h.advance(4000);
    expect(h.targets).toEqual([]);
    h.advance(1500);
    expect(h.targets).toEqual(['http://10.250.0.11:6443']);
    expect(h.lines.at(-1)).toMatchObject({ retryInMs: 30_000 });
    expect(String(h.lines.at(-1)?.why)).toContain('ECONNREFUSED');
    h.advance(29_000);
    expect(h.targets.length).toBe(1); // held off
    h.advance(1500);
    expect(h.targets.at(-1)).toBe('http://10.96.0.1:443');
    h.failAll('connect ECONNREFUSED 10.96.0.1:443');
    h.advance(5000);
    expect(h.lines.at(-1)).toMatchObject({ retryInMs: 60_000 });
  });

  it('goes back when the informers never sync through the Service address (a silent peer)', () => {
    const h = harness(OK);
    h.advance(14_000);
    expect(h.targets).toEqual([]);
    h.advance(1500);
    expect(h.targets).toEqual(['http://10.250.0.11:6443']);
    expect(String(h.lines.at(-1)?.why)).toContain('not listed and watched within 15000 ms');
  });

  it('a failure from before the move does not count against the Service address', () => {
    const h = harness(NO_ENDPOINTS);
    h.failAll('connect ECONNREFUSED 10.250.0.11:6443'); // the bootstrap address failing
    h.advance(10_000);
    h.set(OK);
    h.advance(500);
    h.advance(4000);
    expect(h.route.current).toBe('service');
  });
});

// Each call runs the kubeconfig child, which imports @kubernetes/client-node: seconds on a loaded machine.
describe('loadApiRoutes', { timeout: 30_000 }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'sy-api-routes-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  const kubeconfigFor = (server: string) => {
    const file = join(tmp, `kc-${server.replace(/\W/g, '_')}`);
    writeFileSync(
      file,
      [
        'apiVersion: v1',
        'kind: Config',
        'current-context: c',
        `clusters: [{name: k, cluster: {server: "${server}", insecure-skip-tls-verify: true}}]`,
        'users: [{name: u, user: {token: t}}]',
        'contexts: [{name: c, context: {cluster: k, user: u}}]',
        '',
      ].join('\n'),
    );
    return file;
  };

  it('a kubeconfig naming the ClusterIP and --apiserver-host: bootstrap and Service routes', async () => {
    const kubeconfig = kubeconfigFor('https://10.96.0.1:443');
    const r = await loadApiRoutes({ kubeconfig, apiserverHost: '172.18.0.2', apiserverPort: 6443 });
    expect(r.bootstrap.server).toBe('https://172.18.0.2:6443');
    expect(r.service).toMatchObject({ addr: '10.96.0.1', port: 443 });
    expect(r.service!.api.server).toBe('https://10.96.0.1:443');
  });

  it('one route without --apiserver-host, or when the server is a name or the bootstrap itself', async () => {
    const kc = kubeconfigFor('https://10.96.0.1:443');
    expect(await loadApiRoutes({ kubeconfig: kc })).toMatchObject({
      noService: expect.stringContaining('no --apiserver-host'),
    });
    const named = kubeconfigFor('https://api.example:6443');
    expect((await loadApiRoutes({ kubeconfig: named, apiserverHost: '172.18.0.2' })).noService).toBe(
      'server "https://api.example:6443" is not an IPv4 address',
    );
    const same = kubeconfigFor('https://172.18.0.2:6443');
    expect((await loadApiRoutes({ kubeconfig: same, apiserverHost: '172.18.0.2' })).service).toBeUndefined();
  });
});
