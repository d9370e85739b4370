// Socket-level load balancing (issue 14): bpf/sock.o attached through pinned links to a cgroup v2
// child made here, clients in a namespace made here that join that cgroup before their first
// socket. Backends listen in the same namespace on addresses of lo, so nothing leaves it; the
// ClusterIPs have no route at all, so an answer proves the programs rewrote the address.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SOCK_NS_HOST, sockNetns } from '../../src/abi/sock.js';
import { u64 } from '../../src/abi/layouts.js';
import {
  attachCgroupPinned,
  BpfObject,
  type CgroupHook,
  detachCgroupPinned,
  inNetns,
  programId,
  silenceLibbpf,
  unifiedCgroupRoot,
} from '../../src/bpf/index.js';
import { dataplaneMaps } from '../../src/dataplane/maps.js';
import { mapSizes } from '../../src/agent/map-sizes.js';
import { cleanupSocketLb, destroyUdpSocketsTo, SOCK_HOOKS, startSocketLb } from '../../src/agent/socklb.js';
import { MAX_FRONTENDS } from '../../src/abi/index.js';
import { pino } from 'pino';
import { ServiceTable } from '../lib/datapath.js';
import { cleanUp, createNetns, deleteNetns, run, uniqueName, withBpffs } from '../lib/namespaces.js';
import { describeRoot } from '../lib/root.js';
import { SOCK_ATTACH_TYPES, sockLbClients, until } from '../lib/sock-lb.js';

const OBJ = join(new URL('../..', import.meta.url).pathname, 'build/bpf/sock.o');
const TC_OBJ = OBJ.replace(/sock\.o$/, 'switchyard.o');
// All eight hooks, as the agent attaches them: the IPv6 ones must leave IPv4 sockets alone.
const PROGS = SOCK_HOOKS;
const HOOKS = Object.keys(PROGS) as CgroupHook[];
const CIP = '10.96.77.77';
const EMPTY = '10.96.77.78';
const STICKY = '10.96.77.79';
const BACKENDS = ['10.77.0.2', '10.77.0.3'];

// Each backend answers TCP on 8080 and UDP on 5353 with its own address.
const SERVER = `
import socket, sys, threading
def tcp(a):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a, 8080)); s.listen(64)
    while True:
        c, _ = s.accept(); c.sendall(a.encode()); c.close()
def udp(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((a, 5353))
    while True:
        _, src = s.recvfrom(64); s.sendto(a.encode(), src)
for a in sys.argv[1:]:
    threading.Thread(target=tcp, args=(a,), daemon=True).start()
    threading.Thread(target=udp, args=(a,), daemon=True).start()
print('ready', flush=True)
threading.Event().wait()
`;

describeRoot('socket LB, IPv4 (cgroup connect4/sendmsg4/recvmsg4/getpeername4)', () => {
  const ns = uniqueName('sysk');
  const other = uniqueName('syso');
  const root = unifiedCgroupRoot();
  const cg = join(root ?? '/nonexistent', uniqueName('sy-sock'));
  let bpffs: ReturnType<typeof withBpffs>;
  let obj: BpfObject;
  let server: ChildProcess;
  let table: ServiceTable;

  const { client, connectedUdp } = sockLbClients('AF_INET', cg);
  const linkPin = (hook: CgroupHook) => `${bpffs.dir}/link_${hook}`;
  const attachAll = (o: BpfObject) => HOOKS.map((h) => attachCgroupPinned(cg, h, o.program(PROGS[h]), linkPin(h)));

  beforeAll(async () => {
    if (!root) throw new Error('no cgroup2 mount in /proc/mounts');
    silenceLibbpf();
    bpffs = withBpffs('sy-sock');
    createNetns(ns);
    createNetns(other);
    // The backends' addresses in the other namespace too (no server): a socket translated there
    // would be refused, where an untouched one finds no route.
    for (const n of [ns, other]) for (const a of BACKENDS) run('ip', ['-n', n, 'addr', 'add', `${a}/32`, 'dev', 'lo']);
    mkdirSync(cg);
    obj = BpfObject.open(OBJ, { pinDir: bpffs.dir });
    table = new ServiceTable(dataplaneMaps(obj), { addr: CIP, port: 80, scope: 0, flags: 0 });
    const backends = (port: number, base: number) => BACKENDS.map((addr, i) => ({ id: base + i, addr, port }));
    table.add({ svcId: 1, setId: 1, proto: 6, backends: backends(8080, 1) });
    table.add({ svcId: 2, setId: 2, proto: 17, port: 53, backends: backends(5353, 11) });
    table.add({ svcId: 3, setId: 3, proto: 6, addr: EMPTY, backends: [] });
    table.add({ svcId: 4, setId: 4, proto: 6, addr: STICKY, affinityTimeout: 600, backends: backends(8080, 21) });
    const cookie = BigInt((client(ns, 'cookie', '-', 0) as unknown as string[])[0]);
    obj.map('sock_netns', u64, sockNetns).set(cookie, { addr: BACKENDS[0], flags: SOCK_NS_HOST, addr6: '::' });
    expect(attachAll(obj)).toEqual(HOOKS.map(() => 'created'));
    server = spawn('ip', ['netns', 'exec', ns, 'python3', '-c', SERVER, ...BACKENDS], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve) => server.stdout!.once('data', () => resolve()));
  });

  afterAll(() => {
    server?.kill('SIGKILL');
    const steps = [
      () => bpffs && HOOKS.forEach((h) => detachCgroupPinned(linkPin(h))),
      () => obj?.close(),
      () => deleteNetns(ns),
      () => deleteNetns(other),
      () => rmdirSync(cg),
      () => bpffs?.cleanup(),
    ];
    cleanUp(steps);
  });

  it('TCP connect to the ClusterIP reaches every backend, and getpeername shows the ClusterIP', () => {
    const answers = client(ns, 'tcp', CIP, 80, 40);
    expect(answers.every((a) => a.peer === CIP)).toBe(true);
    expect(new Set(answers.map((a) => a.from))).toEqual(new Set(BACKENDS));
  });

  it('unconnected UDP: sendto the ClusterIP, recvfrom shows the ClusterIP and port as source', () => {
    const answers = client(ns, 'udp', CIP, 53, 40);
    expect(answers.every((a) => a.src === CIP && a.sport === 53)).toBe(true);
    expect(new Set(answers.map((a) => a.from))).toEqual(new Set(BACKENDS));
  });

  it('ClientIP affinity: every connection of the node goes to the one backend chosen first', () => {
    const answers = client(ns, 'tcp', STICKY, 80, 20);
    expect(answers.every((a) => a.peer === STICKY)).toBe(true);
    expect(new Set(answers.map((a) => a.from)).size).toBe(1);
  });

  it('a Service with no endpoints refuses connect() at once', () => {
    const [a] = client(ns, 'tcp', EMPTY, 80);
    expect(a!.errno).toBe(111); // ECONNREFUSED
    expect(a!.ms).toBeLessThan(500);
  });

  it('a socket in a namespace whose cookie is not registered is left alone', () => {
    // Same cgroup, other netns: untranslated, the ClusterIP has no route there.
    const [a] = client(other, 'tcp', CIP, 80);
    expect(a!.errno).toBe(101); // ENETUNREACH
  });

  it('a connected UDP socket moves to another backend within 1 s once its backend is removed', async () => {
    const { child, seen } = connectedUdp(ns, CIP, 53, 6);
    let direct: ReturnType<typeof connectedUdp> | undefined;
    try {
      // The client is a fresh python3: on a loaded machine it takes seconds to start (not measured).
      expect(await until(() => seen.some((s) => s.a.from), 15_000)).toBe(true);
      const first = seen.find((s) => s.a.from)!.a.from!;
      // A socket the application connected to that backend itself: not socket LB's to destroy.
      direct = connectedUdp(ns, first, 5353, 6);
      expect(await until(() => direct!.seen.some((s) => s.a.from), 15_000)).toBe(true);
      const moved = BACKENDS.find((b) => b !== first)!;
      const otherId = BACKENDS.indexOf(moved) + 11;
      table.add({ svcId: 2, setId: 2, proto: 17, port: 53, backends: [{ id: otherId, addr: moved, port: 5353 }] });
      // Without the iterator the connected socket keeps its backend: the maps alone do not move it.
      const mark = seen.length;
      await new Promise((r) => setTimeout(r, 300));
      expect(seen.slice(mark).map((s) => s.a.from)).toContain(first);
      expect(seen.slice(mark).map((s) => s.a.from)).not.toContain(moved);
      // The agent's sizes as --bpf-lb-map-max gives them (equal to the pinned defaults here).
      const maxEntries = mapSizes({ bpfLbMapMax: MAX_FRONTENDS });
      const opts = { pinDir: bpffs.dir, bpfObject: TC_OBJ, maxEntries, log: pino({ level: 'silent' }) };
      // iter/udp walks the namespace of the thread that opens it: from another namespace nothing
      // moves; from the socket's own (the node's, as the agent runs it), it does.
      const run = (where: string) => inNetns(where, () => destroyUdpSocketsTo(opts, [{ addr: first, port: 5353 }]));
      expect(run(other)).toBe(true);
      await new Promise((r) => setTimeout(r, 300));
      expect(seen.slice(mark).map((s) => s.a.from)).not.toContain(moved);
      const t0 = performance.now();
      expect(run(ns)).toBe(true);
      expect(await until(() => seen.some((s) => s.at >= t0 && s.a.from === moved), 1000)).toBe(true);
      await new Promise((r) => setTimeout(r, 200));
      const after = direct.seen.filter((s) => s.at >= t0).map((s) => s.a);
      expect(after.length).toBeGreaterThan(0);
      expect(
        after.every((a) => a.from === first && a.errno === undefined),
        JSON.stringify(after),
      ).toBe(true);
    } finally {
      child.kill('SIGKILL');
      direct?.child.kill('SIGKILL');
    }
  });

  it('a second attach (a restarted agent) updates the pinned links: one program per hook', () => {
    const next = BpfObject.open(OBJ, { pinDir: bpffs.dir });
    try {
      expect(attachAll(next)).toEqual(HOOKS.map(() => 'updated'));
      const shown = JSON.parse(run('bpftool', ['-j', 'cgroup', 'show', cg])) as Array<{
        id: number;
        attach_type: string;
      }>;
      const want = HOOKS.map((h) => ({ id: programId(next.program(PROGS[h])) })).sort((x, y) => x.id - y.id);
      expect(shown.map((p) => ({ id: p.id })).sort((x, y) => x.id - y.id)).toEqual(want);
    } finally {
      next.close();
    }
    // The first object's programs are gone from the hooks; the new ones serve.
    obj.close();
    obj = BpfObject.open(OBJ, { pinDir: bpffs.dir });
    expect(new Set(client(ns, 'tcp', CIP, 80, 20).map((a) => a.from))).toEqual(new Set(BACKENDS));
  });
});

describeRoot('socket LB from the agent (startSocketLb, restart, --cleanup)', () => {
  const ns = uniqueName('syag');
  const cg = join(unifiedCgroupRoot() ?? '/nonexistent', uniqueName('sy-sockag'));
  const log = pino({ level: 'silent' });
  let bpffs: ReturnType<typeof withBpffs>;
  let obj: BpfObject;
  let server: ChildProcess;
  const { client } = sockLbClients('AF_INET', cg);
  const tcp = (n: number) => client(ns, 'tcp', CIP, 80, n);
  const start = () =>
    inNetns(ns, () => startSocketLb({ pinDir: bpffs.dir, bpfObject: TC_OBJ, cgroupRoot: cg, maxEntries: {}, log }));
  const attached = () =>
    JSON.parse(run('bpftool', ['-j', 'cgroup', 'show', cg]).trim() || '[]') as Array<{ attach_type: string }>;

  beforeAll(async () => {
    silenceLibbpf();
    bpffs = withBpffs('sy-sockag');
    createNetns(ns);
    run('ip', ['-n', ns, 'addr', 'add', `${BACKENDS[0]}/32`, 'dev', 'lo']);
    mkdirSync(cg);
    obj = BpfObject.open(OBJ, { pinDir: bpffs.dir });
    const table = new ServiceTable(dataplaneMaps(obj), { addr: CIP, port: 80, scope: 0, flags: 0 });
    table.add({ svcId: 1, setId: 1, proto: 6, backends: [{ id: 1, addr: BACKENDS[0]!, port: 8080 }] });
    server = spawn('ip', ['netns', 'exec', ns, 'python3', '-c', SERVER, BACKENDS[0]!], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve) => server.stdout!.once('data', () => resolve()));
  });

  afterAll(() => {
    server?.kill('SIGKILL');
    const steps = [
      () => bpffs && cleanupSocketLb(bpffs.dir),
      () => obj?.close(),
      () => deleteNetns(ns),
      () => rmdirSync(cg),
      () => bpffs?.cleanup(),
    ];
    cleanUp(steps);
  });

  it('serves the namespace it started in; restarts keep one program per hook; --cleanup detaches', () => {
    start();
    expect(tcp(3).map((a) => a.from)).toEqual([BACKENDS[0], BACKENDS[0], BACKENDS[0]]);
    for (let i = 0; i < 3; i++) {
      start();
      expect(
        attached()
          .map((p) => p.attach_type)
          .sort(),
      ).toEqual(SOCK_ATTACH_TYPES);
      expect(tcp(1)[0]!.peer).toBe(CIP);
    }
    expect(cleanupSocketLb(bpffs.dir)).toEqual(HOOKS);
    expect(attached()).toEqual([]);
    expect(tcp(1)[0]!.errno).toBe(101); // ENETUNREACH: nothing translates any more
  });
});
