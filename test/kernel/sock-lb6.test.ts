// Socket-level load balancing for IPv6 sockets (issue 14, the v6 twins): bpf/sock.o attached by the
// agent's own startSocketLb to a cgroup v2 child made here, clients in a namespace made here that
// join that cgroup before their first socket. Backends listen in that namespace on addresses of lo;
// the ClusterIPs have no route at all, so an answer proves the programs rewrote the address. An
// AF_INET6 socket calling a v4-mapped ClusterIP must be served by the IPv4 Service.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as layouts from '../../src/abi/layouts.js';
import { SOCK_NS_HOST, sockNetns } from '../../src/abi/sock.js';
import { cleanupSocketLb, destroyUdpSocketsTo, startSocketLb } from '../../src/agent/socklb.js';
import {
  BpfObject,
  currentNetnsCookie,
  inNetns,
  openPinnedMap,
  pinnedMapSizes,
  silenceLibbpf,
  unifiedCgroupRoot,
} from '../../src/bpf/index.js';
import { dataplaneMaps } from '../../src/dataplane/maps.js';
import { ServiceTable } from '../lib/datapath.js';
import { cleanUp, createNetns, deleteNetns, run, uniqueName, withBpffs } from '../lib/namespaces.js';
import { describeRoot } from '../lib/root.js';
import { SOCK_ATTACH_TYPES, sockLbClients, until } from '../lib/sock-lb.js';

const OBJ = join(new URL('../..', import.meta.url).pathname, 'build/bpf/sock.o');
const TC_OBJ = OBJ.replace(/sock\.o$/, 'switchyard.o');
const CIP6 = 'fd00:96::77';
const EMPTY6 = 'fd00:96::78';
const STICKY6 = 'fd00:96::79';
const CIP4 = '10.96.78.77';
const BACKENDS6 = ['fd00:77::2', 'fd00:77::3'];
const BACKENDS4 = ['10.77.1.2', '10.77.1.3'];
/** The namespace's registered IPv6 address: the affinity client of its unbound sockets. */
const NS_ADDR6 = 'fd00:77::99';

// Each backend answers TCP on 8080 and UDP on 5353 with its own address.
const SERVER = `
import socket, sys, threading
def fam(a): return socket.AF_INET6 if ':' in a else socket.AF_INET
def tcp(a):
    s = socket.socket(fam(a)); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a, 8080)); s.listen(64)
    while True:
        c, _ = s.accept(); c.sendall(a.encode()); c.close()
def udp(a):
    s = socket.socket(fam(a), socket.SOCK_DGRAM); s.bind((a, 5353))
    while True:
        _, src = s.recvfrom(64); s.sendto(a.encode(), src)
for a in sys.argv[1:]:
    threading.Thread(target=tcp, args=(a,), daemon=True).start()
    threading.Thread(target=udp, args=(a,), daemon=True).start()
print('ready', flush=True)
threading.Event().wait()
`;

describeRoot('socket LB, IPv6 (cgroup connect6/sendmsg6/recvmsg6/getpeername6)', () => {
  const ns = uniqueName('sys6');
  const other = uniqueName('syo6');
  const root = unifiedCgroupRoot();
  const cg = join(root ?? '/nonexistent', uniqueName('sy-sock6'));
  const log = pino({ level: 'silent' });
  let bpffs: ReturnType<typeof withBpffs>;
  let obj: BpfObject;
  let server: ChildProcess;
  let table: ServiceTable;

  const { client, connectedUdp } = sockLbClients('AF_INET6', cg);
  const opts = () => ({ pinDir: bpffs.dir, bpfObject: TC_OBJ, cgroupRoot: cg, maxEntries: {}, log });

  beforeAll(async () => {
    if (!root) throw new Error('no cgroup2 mount in /proc/mounts');
    silenceLibbpf();
    bpffs = withBpffs('sy-sock6');
    createNetns(ns);
    createNetns(other);
    // The backends' addresses in the other namespace too (no server): a socket translated there
    // would be refused, where an untouched one finds no route.
    for (const n of [ns, other])
      for (const a of BACKENDS6) run('ip', ['-n', n, 'addr', 'add', `${a}/128`, 'dev', 'lo', 'nodad']);
    for (const a of BACKENDS4) run('ip', ['-n', ns, 'addr', 'add', `${a}/32`, 'dev', 'lo']);
    mkdirSync(cg);
    obj = BpfObject.open(OBJ, { pinDir: bpffs.dir });
    table = new ServiceTable(dataplaneMaps(obj), { addr: CIP6, port: 80, scope: 0, flags: 0 });
    const be = (addrs: string[], port: number, base: number) => addrs.map((addr, i) => ({ id: base + i, addr, port }));
    table.add({ svcId: 1, setId: 1, proto: 6, backends: be(BACKENDS6, 8080, 1) });
    table.add({ svcId: 2, setId: 2, proto: 17, port: 53, backends: be(BACKENDS6, 5353, 11) });
    table.add({ svcId: 3, setId: 3, proto: 6, addr: EMPTY6, backends: [] });
    table.add({ svcId: 4, setId: 4, proto: 6, addr: STICKY6, affinityTimeout: 600, backends: be(BACKENDS6, 8080, 21) });
    table.add({ svcId: 5, setId: 5, proto: 6, addr: CIP4, backends: be(BACKENDS4, 8080, 31) });
    table.add({ svcId: 6, setId: 6, proto: 17, addr: CIP4, port: 53, backends: be(BACKENDS4, 5353, 41) });
    // What the agent does on its node, from inside ns; then the namespace gets an IPv6 address.
    inNetns(ns, () => startSocketLb(opts()));
    const cookie = inNetns(ns, currentNetnsCookie);
    obj
      .map('sock_netns', layouts.u64, sockNetns)
      .set(cookie, { addr: '0.0.0.0', flags: SOCK_NS_HOST, addr6: NS_ADDR6 });
    server = spawn('ip', ['netns', 'exec', ns, 'python3', '-c', SERVER, ...BACKENDS6, ...BACKENDS4], {
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
      () => deleteNetns(other),
      () => rmdirSync(cg),
      () => bpffs?.cleanup(),
    ];
    cleanUp(steps);
  });

  it('TCP connect to an IPv6 ClusterIP reaches every backend, and getpeername shows the ClusterIP', () => {
    const answers = client(ns, 'tcp', CIP6, 80, 40);
    expect(answers.every((a) => a.peer === CIP6)).toBe(true);
    expect(new Set(answers.map((a) => a.from))).toEqual(new Set(BACKENDS6));
  });

  it('unconnected UDP: sendto the IPv6 ClusterIP, recvfrom shows the ClusterIP and port as source', () => {
    const answers = client(ns, 'udp', CIP6, 53, 40);
    expect(answers.every((a) => a.src === CIP6 && a.sport === 53)).toBe(true);
    expect(new Set(answers.map((a) => a.from))).toEqual(new Set(BACKENDS6));
  });

  it('an AF_INET6 socket to a v4-mapped ClusterIP is served by the IPv4 Service, and sees it v4-mapped', () => {
    const tcp = client(ns, 'tcp', `::ffff:${CIP4}`, 80, 30);
    expect(tcp.every((a) => a.peer === `::ffff:${CIP4}`)).toBe(true);
    expect(new Set(tcp.map((a) => a.from))).toEqual(new Set(BACKENDS4));
    const udp = client(ns, 'udp', `::ffff:${CIP4}`, 53, 30);
    expect(udp.every((a) => a.src === `::ffff:${CIP4}` && a.sport === 53)).toBe(true);
    expect(new Set(udp.map((a) => a.from))).toEqual(new Set(BACKENDS4));
  });

  it('ClientIP affinity: one backend for the namespace, keyed on its registered IPv6 address', () => {
    const answers = client(ns, 'tcp', STICKY6, 80, 20);
    expect(answers.every((a) => a.peer === STICKY6)).toBe(true);
    expect(new Set(answers.map((a) => a.from)).size).toBe(1);
    const aff = obj.map('affinity6', layouts.affinity6Key, layouts.affinity).entries();
    expect(aff.map(([k]) => ({ setId: k.setId, client: k.clientAddr }))).toEqual([{ setId: 4, client: NS_ADDR6 }]);
  });

  it('an IPv6 Service with no endpoints refuses connect() at once', () => {
    const [a] = client(ns, 'tcp', EMPTY6, 80);
    expect(a!.errno).toBe(111); // ECONNREFUSED
    expect(a!.ms).toBeLessThan(500);
  });

  it('an IPv6 socket in a namespace whose cookie is not registered is left alone', () => {
    const [a] = client(other, 'tcp', CIP6, 80);
    expect(a!.errno).toBe(101); // ENETUNREACH: untranslated, the ClusterIP has no route there
  });

  it('a connected UDP IPv6 socket moves to another backend within 1 s once its backend is removed', async () => {
    const { child, seen } = connectedUdp(ns, CIP6, 53, 6);
    try {
      expect(await until(() => seen.some((s) => s.a.from), 15_000)).toBe(true); // python3's start is not measured
      const first = seen.find((s) => s.a.from)!.a.from!;
      const moved = BACKENDS6.find((b) => b !== first)!;
      table.add({
        svcId: 2,
        setId: 2,
        proto: 17,
        port: 53,
        backends: [{ id: BACKENDS6.indexOf(moved) + 11, addr: moved, port: 5353 }],
      });
      // The maps alone do not move a connected socket: it keeps its backend until destroyed.
      const mark = seen.length;
      await new Promise((r) => setTimeout(r, 300));
      expect(seen.slice(mark).map((s) => s.a.from)).not.toContain(moved);
      const t0 = performance.now();
      expect(inNetns(ns, () => destroyUdpSocketsTo(opts(), [{ addr: first, port: 5353 }]))).toBe(true);
      expect(await until(() => seen.some((s) => s.at >= t0 && s.a.from === moved), 1000)).toBe(true);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('a restarted agent keeps serving IPv6 with one program per hook; --cleanup detaches all 8', () => {
    const attached = () =>
      (JSON.parse(run('bpftool', ['-j', 'cgroup', 'show', cg]).trim() || '[]') as Array<{ attach_type: string }>)
        .map((p) => p.attach_type)
        .sort();
    inNetns(ns, () => startSocketLb(opts()));
    expect(attached()).toEqual(SOCK_ATTACH_TYPES);
    expect(client(ns, 'tcp', CIP6, 80, 3).every((a) => a.peer === CIP6 && BACKENDS6.includes(a.from!))).toBe(true);
    expect(cleanupSocketLb(bpffs.dir)).toHaveLength(8);
    expect(attached()).toEqual([]);
    expect(client(ns, 'tcp', CIP6, 80)[0]!.errno).toBe(101); // nothing translates any more
  });
});

describeRoot('socket LB: a sock_netns pinned before IPv6 (8-byte values)', () => {
  const cg = join(unifiedCgroupRoot() ?? '/nonexistent', uniqueName('sy-sockup'));
  let bpffs: ReturnType<typeof withBpffs>;

  beforeAll(() => {
    silenceLibbpf();
    bpffs = withBpffs('sy-sockup');
    mkdirSync(cg);
  });
  afterAll(() => cleanUp([() => bpffs && cleanupSocketLb(bpffs.dir), () => rmdirSync(cg), () => bpffs?.cleanup()]));

  it('is replaced at start, and the node is registered in the new one', () => {
    const pin = `${bpffs.dir}/sock_netns`;
    run('bpftool', [
      'map',
      'create',
      pin,
      'type',
      'hash',
      'key',
      '8',
      'value',
      '8',
      'entries',
      '16384',
      'name',
      'sock_netns',
    ]);
    const log = pino({ level: 'silent' });
    startSocketLb({ pinDir: bpffs.dir, bpfObject: TC_OBJ, cgroupRoot: cg, maxEntries: {}, log });
    expect(pinnedMapSizes(pin)).toEqual({ keySize: 8, valueSize: sockNetns.size });
    const map = openPinnedMap(pin, layouts.u64, sockNetns);
    try {
      expect(map.get(currentNetnsCookie())).toEqual({ addr: '0.0.0.0', flags: SOCK_NS_HOST, addr6: '::' });
    } finally {
      map.close();
    }
  });
});
