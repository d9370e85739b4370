// Python clients the lab e2e files run inside node and pod namespaces (python3 is on every
// machine the suites run on; a node process per request would cost seconds under load).

/**
 * `tcp(host, port, n=60)`: n HTTP/1.0 GETs of /hostname.html, one connection each; returns the
 * bodies seen (each pod answers its own name), the peers getpeername() showed, and the errnos
 * of the connections that failed. Embed it at the top of a client script.
 */
export const PY_TCP_SPREAD = `
import json, socket, sys, time
def tcp(host, port, n=60):
    seen, peers, errs = {}, set(), []
    for _ in range(n):
        try:
            s = socket.create_connection((host, port), timeout=2)
            peers.add(s.getpeername()[0])
            s.sendall(b'GET /hostname.html HTTP/1.0\\r\\n\\r\\n'); d = b''
            while True:
                c = s.recv(4096)
                if not c: break
                d += c
            body = d.split(b'\\r\\n\\r\\n', 1)[-1].decode().strip()
            seen[body] = seen.get(body, 0) + 1; s.close()
        except OSError as e:
            errs.append(e.errno)
    return {'answers': sorted(seen), 'peers': sorted(peers), 'errnos': errs}
`;

/**
 * The socket-LB kernel suites' client (sock-lb, sock-lb6): `python3 -c CLIENT MODE HOST PORT N`,
 * every socket of @family (AF_INET6 also for v4-mapped addresses). Modes: `cookie` (this
 * namespace's netns cookie), `tcp` (N connections: peer and first answer, or errno and ms),
 * `udp` (N unconnected sendto/recvfrom: source and answer), `connudp` (one connected socket for
 * N seconds, printing each answer as it comes and connecting again only after an error). The
 * shell around it joins the cgroup before `ip netns exec`, which mounts a sysfs of its own and so
 * hides the cgroup tree.
 */
export const sockLbClient = (family: 'AF_INET' | 'AF_INET6') => `
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
