// The socket-LB kernel suites' clients (sock-lb, sock-lb6): a python script run in a namespace
// and a cgroup of the test's, whose output the tests read. The shell around it joins the cgroup
// before `ip netns exec`, which mounts a sysfs of its own and so hides the cgroup tree.
import { spawn, type ChildProcess } from 'node:child_process';
import { run } from './namespaces.js';

type Family = 'AF_INET' | 'AF_INET6';

/**
 * `python3 -c SCRIPT MODE HOST PORT N`, every socket of @family (AF_INET6 also for v4-mapped
 * addresses). Modes: `cookie` (this namespace's netns cookie), `tcp` (N connections: peer and
 * first answer, or errno and ms), `udp` (N unconnected sendto/recvfrom: source and answer),
 * `connudp` (one connected socket for N seconds, printing each answer as it comes and connecting
 * again only after an error).
 */
const script = (family: Family) => `
import json, socket, struct, sys, time
F = socket.${family}
mode, host, port, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
out = []
if mode == 'cookie':
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    out.append(str(struct.unpack('Q', s.getsockopt(socket.SOL_SOCKET, 71, 8))[0]))
elif mode == 'tcp':
    for _ in range(n):
        t0 = time.monotonic()
        try:
            s = socket.socket(F); s.settimeout(3); s.connect((host, port))
            out.append({'peer': s.getpeername()[0], 'from': s.recv(64).decode()}); s.close()
        except OSError as e:
            out.append({'errno': e.errno, 'ms': (time.monotonic() - t0) * 1000})
elif mode == 'udp':
    s = socket.socket(F, socket.SOCK_DGRAM); s.settimeout(3)
    for _ in range(n):
        s.sendto(b'x', (host, port)); data, src = s.recvfrom(64)
        out.append({'src': src[0], 'sport': src[1], 'from': data.decode()})
elif mode == 'connudp':
    # A destroyed socket is disconnected: ECONNABORTED, then EDESTADDRREQ.
    s = socket.socket(F, socket.SOCK_DGRAM); s.settimeout(0.1); s.connect((host, port))
    end = time.monotonic() + n
    while time.monotonic() < end:
        try:
            s.send(b'x'); print(json.dumps({'from': s.recv(64).decode()}), flush=True)
        except socket.timeout:
            pass
        except OSError as e:
            print(json.dumps({'errno': e.errno}), flush=True); s.connect((host, port))
        time.sleep(0.02)
print(json.dumps(out))
`;

/** One line of sockLbClient's output. */
export interface SockLbAnswer {
  peer?: string;
  from?: string;
  src?: string;
  sport?: number;
  errno?: number;
  ms?: number;
}

/** The cgroup attach types of the eight socket-LB hooks, as bpftool names them, sorted. */
export const SOCK_ATTACH_TYPES = [
  'cgroup_inet4_connect',
  'cgroup_inet4_getpeername',
  'cgroup_inet6_connect',
  'cgroup_inet6_getpeername',
  'cgroup_udp4_recvmsg',
  'cgroup_udp4_sendmsg',
  'cgroup_udp6_recvmsg',
  'cgroup_udp6_sendmsg',
];

/** Runs the client of @family in namespace @netns and the cgroup directory @cgroup. */
export function sockLbClients(family: Family, cgroup: string) {
  const code = script(family);
  const argv = (netns: string, args: string[]) => [
    '-c',
    'echo $$ > "$0" && exec "$@"',
    `${cgroup}/cgroup.procs`,
    ...['ip', 'netns', 'exec', netns, 'python3', '-c', code, ...args],
  ];
  return {
    /** One run of @mode; its answers once it has finished. */
    client(netns: string, mode: string, host: string, port: number, n = 1): SockLbAnswer[] {
      return JSON.parse(run('sh', argv(netns, [mode, host, String(port), String(n)]), { timeoutMs: 20_000 }));
    },
    /** A connected UDP socket to @host:@port for @seconds, each answer (or errno) as it comes. */
    connectedUdp(netns: string, host: string, port: number, seconds: number) {
      const child: ChildProcess = spawn('sh', argv(netns, ['connudp', host, String(port), String(seconds)]), {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const seen: Array<{ at: number; a: SockLbAnswer }> = [];
      let rest = '';
      child.stdout!.on('data', (d: Buffer) => {
        const lines = (rest + d.toString()).split('\n');
        rest = lines.pop()!;
        for (const l of lines)
          if (l.startsWith('{')) seen.push({ at: performance.now(), a: JSON.parse(l) as SockLbAnswer });
      });
      return { child, seen };
    },
  };
}

/** Polls @ok every 10 ms for up to @ms; whether it held. */
export async function until(ok: () => boolean, ms: number): Promise<boolean> {
  for (const end = performance.now() + ms; !ok() && performance.now() < end; )
    await new Promise((r) => setTimeout(r, 10));
  return ok();
}
