// A UDP client for the data-path hardening e2e tests, run in a namespace: `count` datagrams of
// `size` ASCII bytes (the pod server echoes text) on one connected socket, one at a time, each waiting for its answer. Connected, so
// an answer not translated back is never received, and an ICMP error about the flow surfaces as
// the socket's error (ECONNREFUSED) only when it quotes the flow as the client sent it.
import { nsRun } from '../../src/lab/namespaces.js';

export interface UdpTally {
  ok: number;
  short: number;
  errors: Record<string, number>;
  answerBytes: number[];
  from: Record<string, number>;
}

const SCRIPT = `
import errno, json, socket, sys
host, port, size, count, timeout = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
t = {"ok": 0, "short": 0, "errors": {}, "answerBytes": [], "from": {}}
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(timeout)
s.connect((host, port))
for i in range(count):
    msg = (str(i) + ":").encode() + bytes(0x41 + (j * 7 + i) % 26 for j in range(size - len(str(i)) - 1))
    try:
        s.send(msg)
        a = s.recv(65535)
        t["answerBytes"].append(len(a))
        name = a.split(b" ", 1)[0].decode("latin1")
        t["from"][name] = t["from"].get(name, 0) + 1
        if a.endswith(msg): t["ok"] += 1
        else: t["short"] += 1
    except OSError as e:
        k = errno.errorcode.get(e.errno, "timeout") if e.errno else "timeout"
        t["errors"][k] = t["errors"].get(k, 0) + 1
print(json.dumps(t))
`;

export function udpBig(ns: string, host: string, port: number, size: number, count: number, timeoutS = 2): UdpTally {
  return JSON.parse(
    nsRun(ns, ['python3', '-c', SCRIPT, host, String(port), String(size), String(count), String(timeoutS)]),
  ) as UdpTally;
}
