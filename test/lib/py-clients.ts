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
