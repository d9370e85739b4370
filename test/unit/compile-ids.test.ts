// Id allocation: the allocator itself, id stability across compiles, and restart seeding.
import { describe, expect, it } from 'vitest';
import type { Backend, Frontend, FrontendKey } from '../../src/abi/index.js';
import {
  compile,
  IdAllocator,
  IdExhaustedError,
  seedFromPinned,
  type DesiredState,
  type NodeConfig,
  type PinnedState,
} from '../../src/compile/index.js';
import { buildModel, type ClusterModel } from '../../src/model/index.js';
import { addrPort } from '../../src/net/ipv6.js';

type Obj = Record<string, unknown>;
const NODE: NodeConfig = { nodeName: 'node-a', nodePortAddresses: ['172.16.0.12'] };

function svc(name: string, ip: string, ports: Obj[] = [{ port: 80 }]): Obj {
  return { kind: 'Service', metadata: { name }, spec: { clusterIP: ip, ports } };
}
function slice(name: string, service: string, addrs: string[]): Obj {
  return {
    kind: 'EndpointSlice',
    metadata: { name, labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    endpoints: addrs.map((a) => ({ addresses: [a], nodeName: 'node-b' })),
  };
}
function model(services: Obj[], slices: Obj[] = []): ClusterModel {
  const wrap = (objs: Obj[]) => objs.map((object) => ({ object, origin: 'test.yaml' }));
  return buildModel({ services: wrap(services), endpointSlices: wrap(slices), nodes: [], errors: [] }).model;
}
/** "ns/name:port/PROTO" → svc id */
const svcIds = (d: DesiredState) => Object.fromEntries([...d.services].map(([id, s]) => [s.identity, id]));
const backendIds = (d: DesiredState) =>
  Object.fromEntries([...d.backends].map(([id, b]) => [`${b.addr}:${b.port}`, id]));

describe('IdAllocator', () => {
  it('hands out the lowest free id from 1, per namespace, and is idempotent', () => {
    const ids = new IdAllocator();
    const set = () => ids.setId(ids.svcId('a'), 'all');
    expect([ids.get('svc', 'a'), ids.get('svc', 'b'), ids.get('svc', 'a'), set()]).toEqual([1, 2, 1, 1]);
    expect(ids.peek('svc', 'b')).toBe(2);
    expect(ids.peek('svc', 'zzz')).toBeUndefined();
    expect(ids.identityOf('svc', 2)).toBe('b');
  });

  it('releases ids unused by a compile only when the next one begins, then reuses the lowest', () => {
    const ids = new IdAllocator();
    const be = (x: string) => ids.backendId(1, `10.0.0.${x.charCodeAt(0) - 96}`, 80);
    ids.beginCompile();
    ['a', 'b', 'c'].forEach(be);
    ids.beginCompile(); // round 2 uses a and c only
    be('a');
    be('c');
    expect(be('d')).toBe(4); // b's id 2 is not free yet
    ids.beginCompile(); // releases b (2) ... and d was used, so kept
    be('a');
    be('c');
    be('d');
    expect(be('e')).toBe(2);
    expect(ids.beginCompile()).toEqual({ svc: 0, set: 0, backend: 0 });
  });

  it('fails clearly when service ids run out', () => {
    const ids = new IdAllocator({ svc: 3 });
    ['a', 'b', 'c'].forEach((x) => ids.get('svc', x));
    expect(() => ids.get('svc', 'd')).toThrow(IdExhaustedError);
    expect(() => new IdAllocator({ svc: 0 }).get('svc', 'x')).toThrow(/no free service port id: all 0 are in use/);
    expect(() => {
      const a = new IdAllocator();
      for (let i = 0; i <= 65535; i++) a.get('svc', `s${i}`);
    }).toThrow(/SY_MAX_SERVICES/);
  });

  it('seeds ids, fills the holes below them first, and refuses contradictions', () => {
    const ids = new IdAllocator();
    ids.seed('svc', 'x', 5);
    ids.seed('svc', 'x', 5); // same binding again: fine
    expect(() => ids.seed('svc', 'x', 6)).toThrow(/already has id 5/);
    expect(() => ids.seed('svc', 'y', 5)).toThrow(/already belongs to x/);
    expect(() => ids.seed('svc', 'y', 70000)).toThrow(RangeError);
    expect([1, 2, 3, 4, 6].map((_, i) => ids.get('svc', `n${i}`))).toEqual([1, 2, 3, 4, 6]);
  });

  it('does not hand out an id a seed took after it was released', () => {
    const ids = new IdAllocator();
    ids.get('svc', 'a');
    ids.get('svc', 'b');
    ids.release('svc', 'a');
    ids.seed('svc', 'pinned', 1);
    expect(ids.get('svc', 'c')).toBe(3);
  });

  it('keeps seeded ids through the first compile even when unused, and frees them at the second', () => {
    const ids = new IdAllocator();
    ids.seed('svc', 'gone', 1);
    ids.beginCompile();
    expect(ids.get('svc', 'new')).toBe(2);
    ids.beginCompile();
    expect(ids.peek('svc', 'gone')).toBeUndefined();
    expect(ids.get('svc', 'newer')).toBe(1);
  });

  it('keys sets and backends by their service port id, backends by endpoint, both families', () => {
    const ids = new IdAllocator();
    const web = ids.svcId('default/web:http/TCP');
    const db = ids.svcId('default/db:/TCP');
    const addrs = Array.from({ length: 600 }, (_, i) =>
      i % 3 ? `10.1.${i >> 8}.${i & 255}` : `fd10::${i.toString(16)}`,
    );
    const got = new Map<string, number>();
    for (const svc of [web, db]) for (const a of addrs) got.set(`${svc} ${a}`, ids.backendId(svc, a, 8080));
    expect(new Set(got.values()).size).toBe(1200); // a different id per service port and endpoint
    for (const [k, id] of got) expect(ids.backendId(Number(k.split(' ')[0]), k.split(' ')[1]!, 8080)).toBe(id);
    expect(ids.backendId(web, '10.1.0.1', 8081)).toBe(1201); // another port, another backend
    expect(ids.identityOf('backend', got.get(`${web} 10.1.0.1`)!)).toBe('default/web:http/TCP@10.1.0.1:8080');
    expect(ids.identityOf('backend', got.get(`${db} fd10::3`)!)).toBe('default/db:/TCP@[fd10::3]:8080');
    expect(ids.peek('backend', 'default/db:/TCP@[fd10::3]:8080')).toBe(got.get(`${db} fd10::3`));
    expect(ids.svcIdOf('backend', got.get(`${db} 10.1.0.1`)!)).toBe(db);
    // Released ids leave the others findable (a hash bucket's chain is relinked).
    for (const a of addrs.slice(0, 300)) ids.release('backend', `default/web:http/TCP@${addrPort(a, 8080)}`);
    for (const a of addrs.slice(0, 300))
      expect(ids.peek('backend', `default/web:http/TCP@${addrPort(a, 8080)}`)).toBeUndefined();
    for (const a of addrs.slice(300)) expect(ids.backendId(web, a, 8080)).toBe(got.get(`${web} ${a}`));
    expect(ids.size('backend')).toBe(901);
    expect(ids.identityOf('set', ids.setId(db, 'local6'))).toBe('default/db:/TCP#local6');
    ids.reserve('backend', 5000);
    expect(ids.identityOf('backend', 5000)).toBe('<pinned backend 5000>');
  });

  it('retainOnly releases everything else at once', () => {
    const ids = new IdAllocator();
    ['a', 'b', 'c'].forEach((x) => ids.get('svc', x));
    ids.retainOnly('svc', ['b']);
    expect(ids.entries('svc')).toEqual([['b', 2]]);
    expect(ids.size('svc')).toBe(1);
  });
});

describe('compile: id stability', () => {
  const base = [svc('b', '10.96.0.2'), svc('d', '10.96.0.4')];
  const slices = [slice('b-1', 'b', ['10.244.1.1', '10.244.1.2']), slice('d-1', 'd', ['10.244.2.1'])];

  it('gives the same ids when nothing changed', () => {
    const ids = new IdAllocator();
    const one = compile(model(base, slices), NODE, ids);
    const two = compile(model(base, slices), NODE, ids);
    expect(two).toEqual(one);
  });

  it('does not renumber existing service ports, sets or backends when a Service is added', () => {
    const ids = new IdAllocator();
    const one = compile(model(base, slices), NODE, ids);
    const two = compile(
      model([svc('a', '10.96.0.1'), ...base, svc('c', '10.96.0.3')], [slice('a-1', 'a', ['10.244.0.1']), ...slices]),
      NODE,
      ids,
    );
    expect(svcIds(two)).toMatchObject(svcIds(one));
    expect(backendIds(two)).toMatchObject(backendIds(one));
    for (const fe of one.frontends) expect(two.frontends.find((f) => f.key.addr === fe.key.addr)).toEqual(fe);
    expect(svcIds(two)['default/a:/TCP']).toBe(3);
  });

  it('keeps a backend id while its endpoint stays, and gives a new endpoint a fresh one', () => {
    const ids = new IdAllocator();
    const one = compile(model(base, slices), NODE, ids);
    const two = compile(model(base, [slice('b-1', 'b', ['10.244.1.2', '10.244.1.3']), slices[1]]), NODE, ids);
    expect(backendIds(two)['10.244.1.2:80']).toBe(backendIds(one)['10.244.1.2:80']);
    expect(backendIds(two)['10.244.1.3:80']).toBe(4); // 10.244.1.1's id (1) is not reused in the compile that dropped it
    const three = compile(
      model(base, [slice('b-1', 'b', ['10.244.1.2', '10.244.1.3', '10.244.1.4']), slices[1]]),
      NODE,
      ids,
    );
    expect(backendIds(three)['10.244.1.4:80']).toBe(1); // ...but is in the one after
  });

  it('is deterministic: remove then add gives the same result from the same history', () => {
    const history = (ids: IdAllocator) => {
      compile(model(base, slices), NODE, ids);
      compile(model([base[1]], [slices[1]]), NODE, ids);
      compile(model([base[1]], [slices[1]]), NODE, ids);
      return compile(
        model([svc('e', '10.96.0.5'), ...base], [slice('e-1', 'e', ['10.244.5.1']), ...slices]),
        NODE,
        ids,
      );
    };
    const a = history(new IdAllocator());
    expect(history(new IdAllocator())).toEqual(a);
    // b's id was released at the start of the third compile, so b, coming back first in order, gets 1 again.
    expect(svcIds(a)).toEqual({ 'default/b:/TCP': 1, 'default/d:/TCP': 2, 'default/e:/TCP': 3 });
  });

  it('reports a service port it has no id for and programs the others', () => {
    const d = compile(model([svc('a', '10.96.0.1'), svc('b', '10.96.0.2')]), NODE, new IdAllocator({ svc: 1 }));
    expect(d.services.size).toBe(1);
    expect(d.conflicts.map((e) => e.describe())).toEqual([
      'test.yaml: Service default/b: spec.ports[0]: no free service port id: all 1 are in use; this port is not programmed',
    ]);
  });
});

describe('seedFromPinned (agent restart)', () => {
  /** What the maps would hold after syncing `d` (count/gen are irrelevant here). */
  function pinnedFrom(d: DesiredState): PinnedState {
    const frontends = new Map<string, { key: FrontendKey; value: Frontend }>();
    for (const f of d.frontends) {
      frontends.set(`${f.key.addr}:${f.key.port}/${f.key.proto}/${f.key.scope}`, {
        key: f.key,
        value: { svcId: f.svcId, setId: f.setId, affinityTimeout: 0, count: 0, gen: 0, flags: f.flags },
      });
    }
    const sets = new Map([...d.sets].map(([id, members]) => [id, { gen: 0, members }]));
    return { frontends, sets, backends: new Map<number, Backend>(d.backends) };
  }

  it('recovers every id, so the first compile after a restart changes nothing', () => {
    // Build a history with holes, so a fresh allocator would number things differently.
    const before = new IdAllocator();
    compile(
      model([svc('a', '10.96.0.1'), ...[svc('b', '10.96.0.2')]], [slice('a-1', 'a', ['10.244.0.1', '10.244.0.2'])]),
      NODE,
      before,
    );
    const m = model(
      [svc('b', '10.96.0.2'), svc('c', '10.96.0.3')],
      [slice('b-1', 'b', ['10.244.1.1']), slice('c-1', 'c', ['10.244.2.1', '10.244.2.2'])],
    );
    compile(m, NODE, before);
    const last = compile(m, NODE, before);
    expect(svcIds(last)).toEqual({ 'default/b:/TCP': 2, 'default/c:/TCP': 3 });

    const after = new IdAllocator();
    const r = seedFromPinned(after, m, NODE, pinnedFrom(last));
    expect(r.matched).toEqual({ svc: 2, set: 2, backend: 3 });
    expect(r.reserved).toEqual({ svc: 0, set: 0, backend: 0 });
    expect(compile(m, NODE, after)).toEqual(last);
  });

  it('recovers the ids of a dual-stack Service, IPv6 sets and backends included', () => {
    const node: NodeConfig = { nodeName: 'node-a', nodePortAddresses: ['172.16.0.12', 'fd00::12'] };
    const ds = {
      kind: 'Service',
      metadata: { name: 'ds' },
      spec: { type: 'NodePort', clusterIPs: ['10.96.0.5', 'fd00:96::5'], ports: [{ port: 80, nodePort: 30005 }] },
    };
    const v6 = { ...slice('ds-6', 'ds', ['fd10::1', 'fd10::2']), addressType: 'IPv6' };
    const m = model([svc('x', '10.96.0.4'), ds], [slice('ds-4', 'ds', ['10.244.0.5']), v6]);
    const before = new IdAllocator();
    compile(model([svc('y', '10.96.0.3')]), node, before); // a hole
    const last = compile(m, node, before);
    expect(last.frontends.filter((f) => f.key.addr.includes(':'))).toHaveLength(3);
    const after = new IdAllocator();
    const r = seedFromPinned(after, m, node, pinnedFrom(last));
    expect(r.matched).toEqual({ svc: 2, set: 3, backend: 3 });
    expect(compile(m, node, after)).toEqual(last);
  });

  it('reserves pinned ids of objects that vanished meanwhile until the second compile', () => {
    const before = new IdAllocator();
    const old = compile(
      model([svc('a', '10.96.0.1'), svc('b', '10.96.0.2')], [slice('a-1', 'a', ['10.244.0.1'])]),
      NODE,
      before,
    );
    const now = model([svc('b', '10.96.0.2'), svc('n', '10.96.0.9')], [slice('n-1', 'n', ['10.244.9.1'])]);
    const after = new IdAllocator();
    const r = seedFromPinned(after, now, NODE, pinnedFrom(old));
    expect(r.matched).toEqual({ svc: 1, set: 1, backend: 0 });
    expect(r.reserved).toEqual({ svc: 1, set: 1, backend: 1 }); // a's ids
    const first = compile(now, NODE, after);
    expect(svcIds(first)).toEqual({ 'default/b:/TCP': 2, 'default/n:/TCP': 3 });
    expect(backendIds(first)['10.244.9.1:80']).toBe(2); // 1 is still a's in the maps
    const second = compile(model([svc('b', '10.96.0.2'), svc('n', '10.96.0.9'), svc('z', '10.96.0.26')]), NODE, after);
    expect(svcIds(second)['default/z:/TCP']).toBe(1);
  });
});
