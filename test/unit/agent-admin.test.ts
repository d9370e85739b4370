// The agent's admin endpoint: the error ring per object, the desired state as it answers it, the
// server on a unix socket as `explain` asks it, and drift of the maps against what it wants.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { IPPROTO_TCP, SCOPE_EXTERNAL, SCOPE_INTERNAL } from '../../src/abi/index.js';
import { AdminServer, adminHandler, ERRORS_PER_OBJECT, ErrorLog, wantsOf } from '../../src/agent/admin.js';
import type { DesiredState, ServicePortInfo } from '../../src/compile/index.js';
import { agentDrift } from '../../src/explain/agent-drift.js';
import { askAgent, errorsFor } from '../../src/explain/agent-client.js';
import { adminSocketPath, type WantedServicePort } from '../../src/inspect/admin.js';
import type { MapContents } from '../../src/inspect/views.js';

const svc = (over: Partial<ServicePortInfo> = {}): ServicePortInfo => ({
  namespace: 'default',
  name: 'web',
  portName: 'http',
  protocol: 'TCP',
  port: 80,
  targetPort: 8080,
  type: 'NodePort',
  clusterIP: '10.96.0.20',
  affinityTimeout: 0,
  externalTrafficPolicy: 'Cluster',
  internalTrafficPolicy: 'Cluster',
  sourceRanges: [],
  frontends: [],
  sets: { all: 1 },
  identity: 'default/web:http/TCP',
  ...over,
});

function desired(): DesiredState {
  return {
    frontends: [
      {
        key: { addr: '10.96.0.20', port: 80, proto: IPPROTO_TCP, scope: SCOPE_INTERNAL },
        svcId: 1,
        setId: 1,
        affinityTimeout: 0,
        flags: 0,
      },
      {
        key: { addr: '10.250.0.11', port: 30080, proto: IPPROTO_TCP, scope: SCOPE_EXTERNAL },
        svcId: 1,
        setId: 1,
        affinityTimeout: 0,
        flags: 0,
      },
    ],
    sets: new Map([[1, [7, 8]]]),
    backends: new Map([
      [7, { addr: '10.244.1.6', port: 8080, flags: 0 }],
      [8, { addr: '10.244.2.6', port: 8080, flags: 0 }],
    ]),
    services: new Map([[1, svc()]]),
    healthCheck: [],
    conflicts: [],
    refused: [],
  };
}

/** The maps exactly as the agent wants them (desired() written by the reconciler, gen 1). */
function maps(): MapContents {
  return {
    frontends: desired().frontends.map((f) => [
      f.key,
      { svcId: 1, setId: 1, affinityTimeout: 0, count: 2, gen: 1, flags: 0 },
    ]),
    slots: [
      [{ setId: 1, slot: 1, gen: 1 }, 7],
      [{ setId: 1, slot: 2, gen: 1 }, 8],
    ],
    backends: [...desired().backends],
    conntrack: [],
    affinity: [],
    stats: new Map(),
    services: new Map([[1, { name: 'default/web:http/TCP', type: 'NodePort' }]]),
    nowNs: 10n ** 12n,
  };
}

const wanted = (): WantedServicePort[] => wantsOf('node1', desired(), []).servicePorts;

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('admin endpoint', () => {
  it('keeps the last few errors per object, oldest first', () => {
    const log = new ErrorLog(() => Date.UTC(2026, 0, 1));
    for (let i = 0; i < ERRORS_PER_OBJECT + 2; i++)
      log.record({ kind: 'Service', object: 'default/web', field: 'spec.ports[0].port', message: `bad ${i}` });
    log.record({ kind: 'device', object: 'veth1', message: 'attach from_pod failed: No such device' });
    const all = log.errors();
    expect(Object.keys(all.objects)).toEqual(['Service default/web', 'device veth1']);
    expect(all.objects['Service default/web'].map((e) => e.message)).toEqual([
      'bad 2',
      'bad 3',
      'bad 4',
      'bad 5',
      'bad 6',
    ]);
    expect(log.errors('Service default/web').objects['Service default/web'][0]).toEqual({
      time: '2026-01-01T00:00:00.000Z',
      kind: 'Service',
      object: 'default/web',
      field: 'spec.ports[0].port',
      message: 'bad 2',
    });
    expect(errorsFor(all, 'web').map((e) => e.message)).toHaveLength(ERRORS_PER_OBJECT);
    expect(errorsFor(all, 'prod/web')).toEqual([]);
  });

  it('answers the desired state per service port: frontends, slot order, backends, full-map skips', () => {
    expect(wanted()).toEqual([
      {
        servicePort: 'default/web:http/TCP',
        svcId: 1,
        port: 80,
        frontends: [
          { address: '10.96.0.20:80', protocol: 'TCP', scope: 'internal', setId: 1 },
          { address: '10.250.0.11:30080', protocol: 'TCP', scope: 'external', setId: 1 },
        ],
        sets: { 1: [7, 8] },
        backends: { 7: '10.244.1.6:8080', 8: '10.244.2.6:8080' },
      },
    ]);
    const full = wantsOf('node1', desired(), [
      { svcId: 1, servicePort: 'default/web:http/TCP', map: 'slots', message: 'full' },
    ]);
    expect(full.servicePorts[0].notProgrammed).toBe('full');
  });

  it('serves /v1/wants and /v1/errors on a 0600 unix socket, and explain asks it there', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-admin-'));
    dirs.push(dir);
    const errors = new ErrorLog();
    errors.record({ kind: 'Service', object: 'default/web', field: 'spec.type', message: 'unknown type "Nope"' });
    const server = new AdminServer(
      join(dir, 'admin.sock'),
      adminHandler(() => wantsOf('node1', desired(), []), errors),
    );
    await server.start();
    expect(statSync(join(dir, 'admin.sock')).mode & 0o777).toBe(0o600);
    const answer = await askAgent(`unix:${join(dir, 'admin.sock')}`, 'default/web');
    expect(answer.answered && answer.wants.servicePorts.map((p) => p.servicePort)).toEqual(['default/web:http/TCP']);
    expect(answer.answered && answer.errors.objects['Service default/web'][0].field).toBe('spec.type');
    const other = await askAgent(`unix:${join(dir, 'admin.sock')}`, 'default/other');
    expect(other.answered && other.wants.servicePorts).toEqual([]);
    await server.stop();
    expect(await askAgent(`unix:${join(dir, 'admin.sock')}`)).toMatchObject({
      answered: false,
      why: 'no socket (agent not running)',
    });
  });

  it('a successor on the same pin dir takes the socket over; the old agent stopping leaves it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-admin-'));
    dirs.push(dir);
    const path = join(dir, 'admin.sock');
    const serve = (node: string) =>
      new AdminServer(
        path,
        adminHandler(() => wantsOf(node, undefined, []), new ErrorLog()),
      );
    const old = serve('old');
    await old.start();
    const next = serve('new');
    await next.start();
    await old.stop();
    const answer = await askAgent(`unix:${path}`);
    expect(answer.answered && answer.wants.node).toBe('new');
    await next.stop();
    expect((await askAgent(`unix:${path}`)).answered).toBe(false);
  });

  it('finds the socket from the pin directory without a flag', () => {
    expect(adminSocketPath('/sys/fs/bpf/switchyard/')).toBe('/run/switchyard/admin.sock');
    expect(adminSocketPath('/run/sy1-bpf')).toMatch(/^\/run\/switchyard\/admin-[0-9a-f]{12}\.sock$/);
    expect(adminSocketPath('/run/sy1-bpf')).not.toBe(adminSocketPath('/run/sy2-bpf'));
  });
});

describe('drift against the agent', () => {
  it('is empty when the maps hold what the agent wants', () => {
    expect(agentDrift(wanted(), maps(), 'web')).toEqual([]);
  });

  it('names a missing frontend, a missing slot, a moved backend and an extra service port', () => {
    const m = maps();
    m.frontends.splice(1, 1);
    m.slots.splice(1, 1);
    m.backends[0] = [7, { addr: '10.244.9.9', port: 8080, flags: 0 }];
    m.services.set(2, { name: 'default/web:https/TCP', type: 'ClusterIP' });
    expect(agentDrift(wanted(), m, 'web')).toEqual([
      'default/web:http/TCP: frontend 10.250.0.11:30080/TCP (external) is missing: the agent wants it (svc 1, set 1)',
      'default/web:http/TCP: set 1 gen 1 slot 2: the agent wants backend 8 10.244.2.6:8080 there, the slot map lacks it',
      'default/web:http/TCP: backend 7 is 10.244.9.9:8080 in the maps, the agent wants 10.244.1.6:8080',
      'default/web:https/TCP: in the maps (svc 2, 0 frontend(s)), the agent does not want it',
    ]);
  });

  it('names an extra frontend, a wrong count and a slot holding another backend', () => {
    const m = maps();
    m.frontends.push([
      { addr: '10.96.0.99', port: 80, proto: IPPROTO_TCP, scope: SCOPE_INTERNAL },
      { svcId: 1, setId: 1, affinityTimeout: 0, count: 2, gen: 1, flags: 0 },
    ]);
    m.slots[0] = [{ setId: 1, slot: 1, gen: 1 }, 8];
    m.frontends[0][1] = { ...m.frontends[0][1], count: 3 };
    const w = wanted();
    expect(agentDrift(w, m, 'default/web:80')).toEqual([
      'default/web:http/TCP: frontend 10.96.0.99:80/TCP (internal) is extra: the agent does not want it',
      'default/web:http/TCP: set 1 gen 1 counts 3 member(s), the agent wants 2',
      'default/web:http/TCP: set 1 gen 1 slot 1 holds backend 8, the agent wants backend 7 10.244.1.6:8080',
    ]);
  });
});
