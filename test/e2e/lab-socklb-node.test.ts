// Issue 14 acceptance, the node's own traffic in the lab (one `lab up` for every case): from a
// node's namespace (`lab exec NODE`), an externalIP answers spread over every endpoint, a Service
// without endpoints refuses at once, internalTrafficPolicy: Local reaches only the node's own
// pods; and each agent's API connection goes through the `kubernetes` ClusterIP (bootstrap
// through --apiserver-host, then moved; from the start after a restart), falls back to the
// bootstrap address when the Service loses its endpoints, and its watch keeps programming
// Services throughout. The path is proved from outside the agent: its sockets to the API server
// (`ss -e` in the node namespace gives their cookies) each have a socket-LB reverse entry
// (sock_rev, read with bpftool) saying they were connected to 10.96.0.1:443.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { LabStatus } from '../../src/lab/lab-status.js';
import { labCli, labName } from '../lib/lab-cli.js';
import { PY_TCP_SPREAD } from '../lib/py-clients.js';
import { describeRoot } from '../lib/root.js';

const NAME = labName('n');
const { lab, status, exec } = labCli(NAME);
const API_SERVER = '10.250.0.11:6443';
const BOOTSTRAP = 'http://10.250.0.11:6443';
const VIA_SERVICE = 'http://10.96.0.1:443';
const EXTERNAL_IP = '203.0.113.10'; // TEST-NET-3: no node, pod or Service address, so not refused
const ECONNREFUSED = 111;

const svc = (name: string, clusterIP: string, selector: Record<string, string>, extra: Record<string, unknown> = {}) =>
  `apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: default}
spec:
  clusterIP: ${clusterIP}
  selector: ${JSON.stringify(selector)}
  ports: [{port: 80, targetPort: 80, protocol: TCP}]
${Object.entries(extra)
  .map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`)
  .join('\n')}
`;
const MYAPP = { app: 'myapp', release: 'canary' };
const MANIFEST = [
  svc('myapp-ext', '10.99.99.91', MYAPP, { externalIPs: [EXTERNAL_IP] }),
  svc('nobody', '10.99.99.92', { app: 'nobody' }),
  svc('myapp-local', '10.99.99.93', MYAPP, { internalTrafficPolicy: 'Local' }),
].join('---\n');
const KUBERNETES_SLICE = `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: kubernetes
  namespace: default
  labels: {kubernetes.io/service-name: kubernetes, endpointslice.kubernetes.io/managed-by: kube-apiserver}
addressType: IPv4
endpoints: [{addresses: [10.250.0.11], nodeName: node1, conditions: {ready: true, serving: true, terminating: false}}]
ports: [{name: https, port: 6443, protocol: TCP}]
`;

// The client, run in a node namespace: `tcp HOST PORT N` (answers, peers, errnos) or
// `refuse HOST PORT` (the errno of one connect() and how long it took).
const CLIENT = `${PY_TCP_SPREAD}def refuse(host, port):
    s = socket.socket(); s.settimeout(3); t = time.monotonic()
    try:
        s.connect((host, port)); return {'errno': 0, 'ms': 0}
    except OSError as e:
        return {'errno': e.errno, 'ms': (time.monotonic() - t) * 1000}
a = sys.argv
print(json.dumps(tcp(a[2], int(a[3]), int(a[4])) if a[1] == 'tcp' else refuse(a[2], int(a[3]))))
`;
type Tcp = { answers: string[]; peers: string[]; errnos: number[] };
const tcp = (node: string, host: string, n: number) =>
  JSON.parse(exec(node, 'python3', '-c', CLIENT, 'tcp', host, '80', String(n))) as Tcp;
const refuse = (node: string, host: string) =>
  JSON.parse(exec(node, 'python3', '-c', CLIENT, 'refuse', host, '80')) as { errno: number; ms: number };

async function until<T>(what: string, fn: () => T, ok: (v: T) => boolean, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms; last: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** The agent's log lines with this message. */
function logged(st: LabStatus, node: string, msg: string): Array<Record<string, unknown>> {
  const log = st.nodes.find((n) => n.name === node)!.agent.log;
  return readFileSync(log, 'utf8')
    .split('\n')
    .filter((l) => l.includes(msg))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** The agent's TCP sockets to the API server, each with the Service address socket LB recorded
 *  for it at connect() (sock_rev), or null when it was connected to the API server directly. */
function apiSockets(st: LabStatus, node: string): Array<{ cookie: string; via: string | null }> {
  const n = st.nodes.find((x) => x.name === node)!;
  const ss = exec(node, 'ss', '-tnpe', 'state', 'established', 'dst', API_SERVER);
  const cookies = ss
    .split('\n')
    .filter((l) => l.includes(`pid=${n.agent.pid},`))
    .map((l) => /\bsk:([0-9a-f]+)/.exec(l)?.[1] ?? '?');
  const dump = JSON.parse(
    execFileSync('bpftool', ['-j', 'map', 'dump', 'pinned', join(n.pinDir, 'sock_rev')], { encoding: 'utf8' }),
  ) as Array<{ key: string[]; value: string[] }>;
  const bytes = (hex: string[]) => Buffer.from(hex.map((h) => Number.parseInt(h, 16)));
  const via = new Map<string, string>();
  for (const e of dump) {
    const k = bytes(e.key);
    const v = bytes(e.value);
    if (`${k.subarray(8, 12).join('.')}:${k.readUInt16BE(12)}` !== API_SERVER) continue;
    via.set(k.readBigUInt64LE(0).toString(16), `${v.subarray(0, 4).join('.')}:${v.readUInt16BE(4)}`);
  }
  return cookies.map((cookie) => ({ cookie, via: via.get(cookie) ?? null }));
}

const allVia = (socks: Array<{ via: string | null }>, via: string | null) =>
  socks.length >= 3 && socks.every((s) => s.via === via); // three watches: Services, slices, Node

describeRoot('lab: the node’s own traffic through socket LB', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-socklb-node-'));
  let st: LabStatus;
  let myapp: Array<{ name: string; node: string }>;
  beforeAll(() => {
    lab('up');
    st = status();
    myapp = st.pods.filter((p) => p.deployment === 'myapp-deploy').map((p) => ({ name: p.name, node: p.node }));
    writeFileSync(join(dir, 'services.yaml'), MANIFEST);
    writeFileSync(join(dir, 'kubernetes-slice.yaml'), KUBERNETES_SLICE);
  }, 180_000);
  afterAll(() => {
    lab('down');
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('each agent bootstraps through --apiserver-host, then its API connections go through 10.96.0.1:443', async () => {
    for (const node of ['node1', 'node2']) {
      const moved = logged(st, node, 'API connection moved to the Service address');
      expect(moved[0]).toMatchObject({ from: BOOTSTRAP, to: VIA_SERVICE, service: 'default/kubernetes:https/TCP' });
      const socks = await until(
        `${node}'s agent sockets via the Service`,
        () => apiSockets(st, node),
        (s) => allVia(s, '10.96.0.1:443'),
      );
      expect(socks.length).toBeGreaterThanOrEqual(3);
    }
  }, 60_000);

  it('a Service applied after the move is programmed: an externalIP answers from the node, spread', async () => {
    lab('apply', '-f', join(dir, 'services.yaml'));
    await until(
      'myapp-ext on node1',
      () => tcp('node1', EXTERNAL_IP, 3),
      (r) => r.errnos.length === 0,
    );
    const r = tcp('node1', EXTERNAL_IP, 60);
    expect(r).toEqual({ answers: myapp.map((p) => p.name).sort(), peers: [EXTERNAL_IP], errnos: [] });
  }, 60_000);

  it('a Service with no endpoints refuses connect() from the node at once', async () => {
    const r = await until(
      'nobody refused on node1',
      () => refuse('node1', '10.99.99.92'),
      (x) => x.errno !== 101,
    );
    expect(r.errno).toBe(ECONNREFUSED);
    expect(r.ms).toBeLessThan(200);
  }, 30_000);

  it('internalTrafficPolicy: Local from a node reaches only that node’s endpoints', () => {
    for (const node of ['node1', 'node2']) {
      const local = myapp.filter((p) => p.node === node).map((p) => p.name);
      expect(local.length).toBeGreaterThan(0);
      expect(tcp(node, '10.99.99.93', 60)).toEqual({ answers: local.sort(), peers: ['10.99.99.93'], errnos: [] });
    }
  }, 60_000);

  it('a restarted agent with its maps pinned uses the Service address from the start', async () => {
    lab('restart-agent', 'node1');
    st = status();
    const lines = logged(st, 'node1', 'API connection through the Service address from the start');
    expect(lines.at(-1)).toMatchObject({ server: VIA_SERVICE, bootstrap: BOOTSTRAP });
    await until(
      'node1 sockets via the Service',
      () => apiSockets(st, 'node1'),
      (s) => allVia(s, '10.96.0.1:443'),
    );
  }, 60_000);

  it('the kubernetes Service without endpoints: back to the bootstrap address, the watch still works', async () => {
    lab('delete', '-f', join(dir, 'kubernetes-slice.yaml'));
    const why = 'default/kubernetes:https/TCP has no endpoints';
    const back = await until(
      'the fallback logged',
      () => logged(st, 'node1', 'API connection back to the bootstrap address').filter((l) => l.why === why),
      (l) => l.length > 0,
    );
    expect(back[0]).toMatchObject({ from: VIA_SERVICE, to: BOOTSTRAP });
    await until(
      'node1 sockets direct',
      () => apiSockets(st, 'node1'),
      (s) => allVia(s, null),
    );
    // The watch, now direct, still programs a change: the no-endpoints Service gets endpoints.
    writeFileSync(join(dir, 'now-someone.yaml'), svc('nobody', '10.99.99.92', MYAPP));
    lab('apply', '-f', join(dir, 'now-someone.yaml'));
    await until(
      'nobody answers on node1',
      () => tcp('node1', '10.99.99.92', 3),
      (r) => r.errnos.length === 0,
    );
    // Endpoints again: the agent moves back.
    const before = logged(st, 'node1', 'API connection moved to the Service address').length;
    lab('apply', '-f', join(dir, 'kubernetes-slice.yaml'));
    await until(
      'moved again',
      () => logged(st, 'node1', 'API connection moved to the Service address').length,
      (n) => n > before,
    );
    await until(
      'node1 sockets via the Service',
      () => apiSockets(st, 'node1'),
      (s) => allVia(s, '10.96.0.1:443'),
    );
  }, 90_000);
});
