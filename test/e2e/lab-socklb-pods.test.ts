// Issue 14 acceptance, pod socket LB in the lab (`lab up` runs the agents with --socket-lb all):
// a client pod on node1 reaches the ClusterIP over TCP and UDP, spread over every endpoint, with
// the Service address in getpeername/recvfrom and no conntrack entry for its flows; with its
// namespace taken out of sock_netns (the tc path serves it again) the same requests leave
// entries, so the check can fail, and ClientIP affinity picks the same pod on both paths. Then a
// connected UDP socket in the pod follows its backend out when that pod is killed, never seeing an
// error (a pod's connected UDP is the tc path's: bpf/sock.c, sy_sock_tc_serves).
import { execFile, execFileSync, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SOCK_NS_POD, sockNetns } from '../../src/abi/sock.js';
import { u64 } from '../../src/abi/layouts.js';
import { openPinnedMap } from '../../src/bpf/index.js';
import { poll } from '../../src/util/poll.js';
import { podIpv6 } from '../../src/lab/dualstack.js';
import type { LabStatus } from '../../src/lab/lab-status.js';
import { CLI, labCli, labName, switchyard } from '../lib/lab-cli.js';
import { describeRoot } from '../lib/root.js';

const NAME = labName('q');
const { lab, status, exec } = labCli(NAME);
const VIP = '10.99.99.99';
const UDP_VIP = '10.99.99.53';
const STICKY_VIP = '10.99.99.100';
// Their IPv6 ClusterIPs: the lab is dual-stack and these Services PreferDualStack.
const VIP6 = 'fd00:96::99:99:99';
const STICKY_VIP6 = 'fd00:96::99:99:100';
const execFileP = promisify(execFile);

const CLIENT = `
import json, socket, struct, sys, time
def tcp(host, n):
    seen, peers, errs = {}, set(), []
    for _ in range(n):
        try:
            s = socket.create_connection((host, 80), timeout=2); peers.add(s.getpeername()[0])
            s.sendall(b'GET /hostname.html HTTP/1.0\\r\\n\\r\\n'); d = b''
            while True:
                c = s.recv(4096)
                if not c: break
                d += c
            body = d.split(b'\\r\\n\\r\\n', 1)[-1].decode().strip(); seen[body] = seen.get(body, 0) + 1; s.close()
        except OSError as e:
            errs.append(e.errno)
    return {'answers': sorted(seen), 'peers': sorted(peers), 'errnos': errs}
def udp(host, n):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(2); srcs, seen = set(), set()
    for _ in range(n):
        u.sendto(b'hi', (host, 53)); d, src = u.recvfrom(4096)
        srcs.add('%s:%d' % src); seen.add(d.decode().split(' ')[0])
    return {'answers': sorted(seen), 'sources': sorted(srcs)}
mode = sys.argv[1]
if mode == 'cookie':
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    print(struct.unpack('Q', s.getsockopt(socket.SOL_SOCKET, 71, 8))[0])
elif mode == 'spread6':
    print(json.dumps({'tcp': tcp('${VIP6}', 60), 'sticky': tcp('${STICKY_VIP6}', 10)}))
elif mode == 'spread':
    print(json.dumps({'tcp': tcp('${VIP}', 60), 'udp': udp('${UDP_VIP}', 60), 'sticky': tcp('${STICKY_VIP}', 10)}))
else:
    # One connected socket for the whole run, never closed: connected again only after an error
    # (which the test fails on: a pod's connected UDP socket must never see one). Wall-clock ms.
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(0.1); u.connect(('${UDP_VIP}', 53))
    end = time.time() + float(sys.argv[2])
    while time.time() < end:
        try:
            u.send(b'x'); print(json.dumps({'at': time.time() * 1000, 'from': u.recv(64).decode().split(' ')[0]}), flush=True)
        except socket.timeout:
            pass
        except OSError as e:
            print(json.dumps({'at': time.time() * 1000, 'errno': e.errno}), flush=True); u.connect(('${UDP_VIP}', 53))
        time.sleep(0.02)
`;

interface Spread {
  tcp: { answers: string[]; peers: string[]; errnos: number[] };
  udp: { answers: string[]; sources: string[] };
  sticky: { answers: string[]; peers: string[]; errnos: number[] };
}

describeRoot('lab: pod socket LB (--socket-lb all)', () => {
  let st: LabStatus;
  let client: { name: string; ip: string };
  let pinDir: string;
  const myapp = () =>
    status()
      .pods.filter((p) => p.deployment === 'myapp-deploy')
      .map((p) => p.name)
      .sort();
  const spread = () => JSON.parse(exec(client.name, 'python3', '-c', CLIENT, 'spread')) as Spread;
  const cookie = () => BigInt(exec(client.name, 'python3', '-c', CLIENT, 'cookie').trim());
  const withNetnsMap = <T>(fn: (m: ReturnType<typeof openNetnsMap>) => T): T => {
    const m = openNetnsMap();
    try {
      return fn(m);
    } finally {
      m.close();
    }
  };
  const openNetnsMap = () => openPinnedMap(join(pinDir, 'sock_netns'), u64, sockNetns);
  /** The pod's sock_netns entry once it is registered with both addresses (null after 10 s). */
  const registered = async () => {
    const r = await poll(() => {
      const e = withNetnsMap((m) => m.get(cookie()));
      return e?.flags === SOCK_NS_POD && e.addr6 !== '::' ? e : undefined;
    }, 10_000);
    return r.ok ? r.value : null;
  };
  const flowsOf = (ip: string) => {
    const rows = JSON.parse(switchyard('inspect', 'conntrack', '--pin-dir', pinDir, '-o', 'json')) as Array<{
      tuple: string;
    }>;
    return rows.filter((r) => r.tuple.includes(ip.includes(':') ? `[${ip}]:` : `${ip}:`));
  };

  beforeAll(() => {
    // Up has its own, longer timeout: on a shared 2-core machine it can take well over 90 s.
    execFileSync(process.execPath, [CLI, 'lab', 'up', '--name', NAME], { stdio: 'ignore', timeout: 240_000 });
    st = status();
    client = st.pods.find((p) => p.deployment === 'client' && p.node === 'node1')!;
    pinDir = st.nodes.find((n) => n.name === 'node1')!.pinDir;
  }, 300_000);
  afterAll(() => {
    lab('down');
  }, 120_000);

  it('registers the client pod’s namespace with its pod IP, and serves it: spread, no conntrack entry', async () => {
    expect(st.nodes.every((n) => n.agent.argv.join(' ').includes('--socket-lb all'))).toBe(true);
    // The lab is dual-stack: the pod's IPv6 address is its IPv6 affinity client (the agent looks
    // again every 250 ms when it registered the pod before that address was there).
    expect(await registered()).toEqual({
      addr: client.ip,
      flags: SOCK_NS_POD,
      addr6: podIpv6(client.ip),
    });
    const pods = myapp();
    const out = spread();
    expect(out.tcp).toEqual({ answers: pods, peers: [VIP], errnos: [] });
    expect(out.udp).toEqual({ answers: pods, sources: [`${UDP_VIP}:53`] });
    expect(out.sticky.answers).toHaveLength(1);
    expect(flowsOf(client.ip)).toEqual([]);
    // ClientIP affinity keyed by the pod IP, as the tc path keys it.
    const affinity = JSON.parse(switchyard('inspect', 'affinity', '--pin-dir', pinDir, '-o', 'json')) as Array<{
      client: string;
    }>;
    expect(affinity.map((a) => a.client)).toContain(client.ip);
  }, 60_000);

  it('serves the pod’s IPv6 ClusterIP connections too: spread, no conntrack entry, affinity by its IPv6', () => {
    const out = JSON.parse(exec(client.name, 'python3', '-c', CLIENT, 'spread6')) as Pick<Spread, 'tcp' | 'sticky'>;
    expect(out.tcp).toEqual({ answers: myapp(), peers: [VIP6], errnos: [] });
    expect(out.sticky.answers).toHaveLength(1);
    expect(flowsOf(podIpv6(client.ip))).toEqual([]);
    const affinity = JSON.parse(switchyard('inspect', 'affinity', '--pin-dir', pinDir, '-o', 'json')) as Array<{
      client: string;
    }>;
    expect(affinity.map((a) => a.client)).toContain(podIpv6(client.ip));
  }, 60_000);

  it('leaves conntrack entries once the pod is off sock_netns (tc path), and affinity picks the same pod', () => {
    const sticky = spread().sticky.answers;
    expect(withNetnsMap((m) => m.delete(cookie()))).toBe(true);
    const out = spread();
    expect(out.tcp.errnos).toEqual([]);
    expect(out.tcp.peers).toEqual([VIP]);
    expect(out.udp.sources).toEqual([`${UDP_VIP}:53`]);
    expect(out.sticky.answers).toEqual(sticky);
    expect(flowsOf(client.ip).length).toBeGreaterThan(0);
  }, 60_000);

  it('a restarted agent registers the pod again; its connected UDP socket follows a killed backend within 1 s, with no error', async () => {
    lab('restart-agent', 'node1');
    // The restarted agent finds its pods by scanning their veths (every 250 ms) after it is up:
    // wait for the registration rather than race it.
    expect(await registered()).toEqual({
      addr: client.ip,
      flags: SOCK_NS_POD,
      addr6: podIpv6(client.ip),
    });
    const child = spawn(
      process.execPath,
      [CLI, 'lab', 'exec', '--name', NAME, client.name, '--', 'python3', '-c', CLIENT, 'connudp', '25'],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let text = '';
    child.stdout!.on('data', (d: Buffer) => {
      text += d.toString();
    });
    const exited = new Promise((resolve) => child.on('close', resolve));
    // A timeout (the backend not answering) prints nothing: the gap below counts it.
    const lines = () =>
      text
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { at: number; from?: string; errno?: number });
    for (const end = Date.now() + 10_000; !lines().some((l) => l.from) && Date.now() < end; )
      await new Promise((r) => setTimeout(r, 20));
    const first = lines().find((l) => l.from)!.from!;
    // Asynchronously: a blocked event loop would stop reading the client's output, and the client
    // would stall in write(), which looks exactly like a backend that stopped answering.
    await execFileP(process.execPath, [CLI, 'lab', 'kill-pod', '--name', NAME, first], { timeout: 90_000 });
    await exited;
    const seen = lines();
    const lastOld = Math.max(...seen.filter((l) => l.from === first).map((l) => l.at));
    const next = seen.find((l) => l.at > lastOld && l.from && l.from !== first);
    const around = JSON.stringify(seen.filter((l) => l.at > lastOld - 100).slice(0, 30));
    expect(next, around).toBeDefined();
    expect(next!.at - lastOld, around).toBeLessThan(1000);
    // Never an error, so never connected again: a pod's connected UDP socket is left on the tc
    // path (bpf/sock.c, sy_sock_tc_serves), which re-selects per datagram once the backend is gone.
    expect(
      seen.filter((l) => l.errno).map((l) => l.errno),
      around,
    ).toEqual([]);
    expect(seen.filter((l) => l.at > next!.at).every((l) => l.from && l.from !== first)).toBe(true);
  }, 90_000);
});
