// Issue 2 acceptance: tc and XDP attachment on a veth between two test namespaces, with real TCP
// traffic moving the counters. Everything happens in namespaces made here (inNetns); nothing is
// attached in the root namespace.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  attachTc,
  attachTcHook,
  attachXdp,
  BpfError,
  BpfObject,
  detachTc,
  detachTcHook,
  detachXdp,
  inNetns,
  listTc,
  listTcx,
  possibleCpus,
  programId,
  queryTc,
  queryXdp,
  silenceLibbpf,
  tcPrograms,
  u32,
  u64,
} from '../../src/bpf/index.js';
import * as layouts from '../../src/abi/layouts.js';
import { describeRoot } from '../lib/root.js';
import { cleanUp, nsExec, twoHosts, uniqueName, withBpffs, type TwoHosts } from '../lib/namespaces.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const OBJ = join(ROOT, 'build/bpf/test_counter.o');

const SERVER = `
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(8)
print('ready', flush=True)
while True:
    c, _ = s.accept()
    while True:
        d = c.recv(65536)
        if not d: break
        c.sendall(d)
    c.close()
`;
const CLIENT = `
import socket, sys
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
n = int(sys.argv[3]); data = b'x' * n; c.sendall(data); got = b''
while len(got) < n:
    d = c.recv(65536)
    if not d: break
    got += d
c.close(); print(len(got))
`;

function startServer(ns: string, ip: string, port: number): Promise<ChildProcess> {
  const child = spawn('ip', ['netns', 'exec', ns, 'python3', '-c', SERVER, ip, String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (d) => {
      err += d;
    });
    child.stdout!.on('data', (d) => {
      if (String(d).includes('ready')) resolve(child);
    });
    child.on('exit', (code) => reject(new Error(`server exited ${code}: ${err}`)));
  });
}

describeRoot('typed libbpf layer: tc and XDP attachment', () => {
  let obj: BpfObject;
  let hosts: TwoHosts;
  let server: ChildProcess | undefined;

  beforeAll(async () => {
    execFileSync('make', ['-s', '-C', ROOT, 'build/bpf/test_counter.o'], { stdio: 'pipe' });
    silenceLibbpf();
    obj = BpfObject.open(OBJ);
    hosts = twoHosts('syat');
    server = await startServer(hosts.b.ns, hosts.b.ip, 8080);
  });
  afterAll(() => {
    server?.kill('SIGKILL');
    hosts?.cleanup();
    obj?.close();
  });

  const tcpRoundTrip = (bytes: number) =>
    Number(nsExec(hosts.a.ns, ['python3', '-c', CLIENT, hosts.b.ip, '8080', String(bytes)]).trim());
  const sumStats = () => {
    const per = obj.percpuMap('stats', u32, layouts.stats).get(0)!;
    expect(per.length).toBe(possibleCpus());
    return per.reduce((s, v) => ({ packets: s.packets + v.packets, bytes: s.bytes + v.bytes }), {
      packets: 0n,
      bytes: 0n,
    });
  };

  it('counts real TCP traffic with a tc program on a veth inside a namespace', () => {
    const prog = obj.program('count_tc');
    inNetns(hosts.b.ns, () => attachTc(hosts.b.ifname, 'ingress', prog));
    const list = inNetns(hosts.b.ns, () => listTc(hosts.b.ifname, 'ingress'));
    expect(list).toEqual([{ progId: programId(prog), handle: 1, priority: 1 }]);
    expect(inNetns(hosts.b.ns, () => queryTc(hosts.b.ifname, 'ingress'))).toBe(programId(prog));
    // attaching again replaces the filter at the same handle/priority
    inNetns(hosts.b.ns, () => attachTc(hosts.b.ifname, 'ingress', prog));
    expect(inNetns(hosts.b.ns, () => listTc(hosts.b.ifname, 'ingress')).length).toBe(1);

    const before = sumStats();
    expect(tcpRoundTrip(100_000)).toBe(100_000);
    const after = sumStats();
    expect(after.packets - before.packets).toBeGreaterThanOrEqual(3n); // at least SYN, data, ACKs
    expect(after.bytes - before.bytes).toBeGreaterThanOrEqual(100_000n);
    expect(obj.map('totals', u32, u64).get(1)).toBeGreaterThanOrEqual(3n);

    // egress too, on another priority
    inNetns(hosts.b.ns, () => attachTc(hosts.b.ifname, 'egress', prog, { priority: 7, handle: 3 }));
    expect(inNetns(hosts.b.ns, () => listTc(hosts.b.ifname, 'egress'))).toEqual([
      { progId: programId(prog), handle: 3, priority: 7 },
    ]);

    expect(inNetns(hosts.b.ns, () => detachTc(hosts.b.ifname, 'ingress'))).toBe(true);
    expect(inNetns(hosts.b.ns, () => detachTc(hosts.b.ifname, 'ingress'))).toBe(false);
    expect(inNetns(hosts.b.ns, () => detachTc(hosts.b.ifname, 'egress', { priority: 7, handle: 3 }))).toBe(true);
    expect(inNetns(hosts.b.ns, () => listTc(hosts.b.ifname, 'ingress'))).toEqual([]);
    const quiet = sumStats();
    expect(tcpRoundTrip(1000)).toBe(1000);
    expect(sumStats()).toEqual(quiet);
  });

  it('tcx: a pinned link takes over an older clsact filter, is updated in place on a restart, detaches', () => {
    const inB = <T>(fn: () => T) => inNetns(hosts.b.ns, fn);
    const dev = hosts.b.ifname;
    const count = (o: BpfObject) => o.map('totals', u32, u64).get(1) ?? 0n;
    const pins = withBpffs('syat');
    const pin = `${pins.dir}/link`;
    const again = BpfObject.open(OBJ);
    try {
      // An agent from before tcx left its clsact filter.
      const first = obj.program('count_tc');
      inB(() => attachTc(dev, 'ingress', first));
      expect(inB(() => attachTcHook(dev, 'ingress', first, pin))).toBe('tcx');
      expect(inB(() => tcPrograms(dev, 'ingress'))).toEqual([
        { progId: programId(first), name: 'count_tc', mode: 'tcx' },
      ]);
      expect(inB(() => listTc(dev, 'ingress'))).toEqual([]);
      let before = count(obj);
      expect(tcpRoundTrip(1000)).toBe(1000);
      expect(count(obj) - before).toBeGreaterThanOrEqual(3n);

      // A restarted agent loads the object again: its program takes the old one's place in the
      // pinned link, never beside it.
      const second = again.program('count_tc');
      expect(inB(() => attachTcHook(dev, 'ingress', second, pin))).toBe('tcx');
      expect(inB(() => listTcx(dev, 'ingress'))).toEqual([
        { progId: programId(second), name: 'count_tc', mode: 'tcx' },
      ]);
      before = count(obj);
      const beforeAgain = count(again);
      expect(tcpRoundTrip(1000)).toBe(1000);
      expect(count(obj)).toBe(before);
      expect(count(again) - beforeAgain).toBeGreaterThanOrEqual(3n);

      expect(detachTcHook(pin)).toBe(true);
      expect(detachTcHook(pin)).toBe(false);
      expect(inB(() => tcPrograms(dev, 'ingress'))).toEqual([]);
      const quiet = count(again);
      expect(tcpRoundTrip(1000)).toBe(1000);
      expect(count(again)).toBe(quiet);
    } finally {
      cleanUp([() => detachTcHook(pin), () => again.close(), () => pins.cleanup()]);
    }
  });

  it('tcx: the link goes with its interface; a new interface of that name gets a new link', () => {
    const pins = withBpffs('syat');
    const pin = `${pins.dir}/link`;
    const name = uniqueName('sytx');
    const prog = obj.program('count_tc');
    const inA = <T>(fn: () => T) => inNetns(hosts.a.ns, fn);
    const veth = () => nsExec(hosts.a.ns, ['ip', 'link', 'add', name, 'type', 'veth', 'peer', 'name', `${name}p`]);
    try {
      veth();
      expect(inA(() => attachTcHook(name, 'egress', prog, pin))).toBe('tcx');
      nsExec(hosts.a.ns, ['ip', 'link', 'del', name]);
      veth();
      expect(inA(() => tcPrograms(name, 'egress'))).toEqual([]);
      expect(inA(() => attachTcHook(name, 'egress', prog, pin))).toBe('tcx');
      expect(inA(() => tcPrograms(name, 'egress')).map((p) => p.progId)).toEqual([programId(prog)]);
    } finally {
      cleanUp([
        () => detachTcHook(pin),
        () => spawnSync('ip', ['-n', hosts.a.ns, 'link', 'del', name]), // gone already if the test failed early
        () => pins.cleanup(),
      ]);
    }
  });

  it('attaches and detaches XDP natively and generically; queryXdp reflects it', () => {
    const prog = obj.program('xdp_count');
    const id = programId(prog);
    const q = () => inNetns(hosts.b.ns, () => queryXdp(hosts.b.ifname));
    expect(q()).toEqual({ progId: 0, mode: 'none' });

    inNetns(hosts.b.ns, () => attachXdp(hosts.b.ifname, prog, 'native'));
    expect(q()).toEqual({ progId: id, mode: 'native' });
    const totals = obj.map('totals', u32, u64);
    const before = totals.get(0)!;
    expect(tcpRoundTrip(1000)).toBe(1000); // xdp_count passes everything
    expect(totals.get(0)! - before).toBeGreaterThanOrEqual(2n);
    inNetns(hosts.b.ns, () => detachXdp(hosts.b.ifname, 'native'));
    expect(q()).toEqual({ progId: 0, mode: 'none' });

    inNetns(hosts.b.ns, () => attachXdp(hosts.b.ifname, prog, 'generic'));
    expect(q()).toEqual({ progId: id, mode: 'generic' });
    expect(tcpRoundTrip(1000)).toBe(1000);
    inNetns(hosts.b.ns, () => detachXdp(hosts.b.ifname, 'generic'));
    expect(q()).toEqual({ progId: 0, mode: 'none' });
  });

  it('a missing interface is a BpfError naming it, for every attach call', () => {
    const ghost = uniqueName('ghost');
    const prog = obj.program('count_tc');
    inNetns(hosts.b.ns, () => {
      expect(() => attachTc(ghost, 'ingress', prog)).toThrow(
        `if_nametoindex(interface '${ghost}'): No such device (ENODEV)`,
      );
      expect(() => attachXdp(ghost, obj.program('xdp_count'), 'native')).toThrow(`interface '${ghost}'`);
      expect(() => queryXdp(ghost)).toThrow(BpfError);
    });
    // The namespace's interface is not visible from the root namespace: inNetns switched back.
    expect(() => queryXdp(hosts.b.ifname)).toThrow(`if_nametoindex(interface '${hosts.b.ifname}')`);
  });

  it('inNetns always switches back, even when fn throws; a missing namespace names it', () => {
    const self = () => readlinkSync('/proc/thread-self/ns/net');
    const home = self();
    const inside = inNetns(hosts.a.ns, self);
    expect(inside).not.toBe(home);
    expect(() =>
      inNetns(hosts.a.ns, () => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(self()).toBe(home);
    const ghost = uniqueName('nons');
    expect(() => inNetns(ghost, () => 1)).toThrow(`network namespace '${ghost}' not found`);
    expect(self()).toBe(home);
  });
});
