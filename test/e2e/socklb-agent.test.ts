// Socket LB through the real agent process (issue 14): the agent runs in a test namespace (via
// nsenter, which keeps the cgroup tree visible, unlike `ip netns exec`), attaches to a child cgroup
// made here, and serves a node-namespace client looping connections to a ClusterIP while the agent
// restarts five times: no failed connection, and exactly one program per hook after each restart.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { unifiedCgroupRoot } from '../../src/bpf/index.js';
import { adminSocketPath } from '../../src/inspect/admin.js';
import { cleanUp, createNetns, deleteNetns, run, uniqueName, withBpffs } from '../lib/namespaces.js';
import { describeRoot } from '../lib/root.js';
import { SOCK_ATTACH_TYPES } from '../lib/sock-lb.js';
import { waitFor } from '../lib/wait.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const CIP = '10.96.77.77';
const BACKENDS = ['10.77.0.2', '10.77.0.3'];
const MANIFEST = `apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  clusterIP: ${CIP}
  ports: [{name: http, port: 80, targetPort: 8080, protocol: TCP}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-abc, namespace: default, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{name: http, port: 8080, protocol: TCP}]
endpoints:
${BACKENDS.map((ip) => `  - {addresses: ["${ip}"], conditions: {ready: true}, nodeName: node1}`).join('\n')}
`;
const SERVER = `
import socket, sys, threading
def tcp(a):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a, 8080)); s.listen(256)
    while True:
        c, _ = s.accept(); c.sendall(a.encode()); c.close()
for a in sys.argv[1:]:
    threading.Thread(target=tcp, args=(a,), daemon=True).start()
print('ready', flush=True)
threading.Event().wait()
`;
// Connects until stdin closes; prints the counts of answers by backend, and failures.
const LOOP = `
import json, select, socket, sys
ok, bad = {}, []
while not select.select([sys.stdin], [], [], 0.01)[0]:
    try:
        s = socket.create_connection((sys.argv[1], 80), timeout=2)
        a = s.recv(64).decode(); s.close(); ok[a] = ok.get(a, 0) + 1
    except OSError as e:
        bad.append(e.errno)
print(json.dumps({'ok': ok, 'bad': bad}), flush=True)
`;

describeRoot('socket LB: the agent process, restarted under a connection loop', () => {
  const ns = uniqueName('syse');
  const cg = join(unifiedCgroupRoot() ?? '/nonexistent', uniqueName('sy-socke'));
  const work = mkdtempSync(join(tmpdir(), 'sy-socklb-'));
  let bpffs: ReturnType<typeof withBpffs>;
  let server: ChildProcess;
  let agent: ChildProcess | undefined;
  const logFile = join(work, 'agent.log');
  const inNs = (cmd: string[]) => ['nsenter', `--net=/run/netns/${ns}`, ...cmd];
  const agentArgs = () =>
    inNs([
      process.execPath,
      join(ROOT, 'dist/cli/main.js'),
      'agent',
      '--manifests',
      join(work, 'manifests'),
      '--pin-dir',
      bpffs.dir,
      '--hostname-override',
      'node1',
      '--socket-lb',
      'host',
      '--cgroup-root',
      cg,
    ]);
  const attachedCount = () => (readFileSync(logFile, 'utf8').match(/socket LB attached/g) ?? []).length;
  const hooks = () =>
    (JSON.parse(run('bpftool', ['-j', 'cgroup', 'show', cg]).trim() || '[]') as Array<{ attach_type: string }>)
      .map((p) => p.attach_type)
      .sort();
  const startAgent = async () => {
    const before = attachedCount();
    const [cmd, ...args] = agentArgs();
    agent = spawn(cmd!, args, { stdio: ['ignore', openSync(logFile, 'a'), openSync(logFile, 'a')] });
    await waitFor(() => attachedCount() > before, 15_000, { what: 'socket LB attached in the agent log' });
  };
  const stopAgent = async () => {
    const a = agent!;
    const exited = new Promise((r) => a.once('exit', r));
    a.kill('SIGTERM');
    await exited;
  };

  beforeAll(async () => {
    bpffs = withBpffs('sy-socke');
    createNetns(ns);
    for (const a of BACKENDS) run('ip', ['-n', ns, 'addr', 'add', `${a}/32`, 'dev', 'lo']);
    mkdirSync(cg);
    mkdirSync(join(work, 'manifests'));
    writeFileSync(join(work, 'manifests', 'web.yaml'), MANIFEST);
    writeFileSync(logFile, '');
    const [cmd, ...args] = inNs(['python3', '-c', SERVER, ...BACKENDS]);
    server = spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => server.stdout!.once('data', () => resolve()));
  });

  afterAll(async () => {
    // SIGTERM, so the agent closes its admin socket itself; SIGKILL below only if it hangs.
    if (agent && agent.exitCode === null && agent.signalCode === null)
      await Promise.race([stopAgent(), new Promise((r) => setTimeout(r, 5000))]);
    const steps = [
      () => agent?.kill('SIGKILL'),
      () => rmSync(adminSocketPath(bpffs.dir), { force: true }),
      () => server?.kill('SIGKILL'),
      () => run(process.execPath, [join(ROOT, 'dist/cli/main.js'), 'agent', '--cleanup', '--pin-dir', bpffs.dir]),
      () => deleteNetns(ns),
      () => rmdirSync(cg),
      () => bpffs?.cleanup(),
      () => rmSync(work, { recursive: true, force: true }),
    ];
    cleanUp(steps);
  });

  it('5 restarts during a host → ClusterIP loop: 0 failures, one program per hook each time', async () => {
    await startAgent();
    const want = SOCK_ATTACH_TYPES;
    expect(hooks()).toEqual(want);
    const loop = spawn(
      'sh',
      ['-c', 'echo $$ > "$0" && exec "$@"', `${cg}/cgroup.procs`, ...inNs(['python3', '-c', LOOP, CIP])],
      {
        stdio: ['pipe', 'pipe', 'inherit'],
      },
    );
    let out = '';
    loop.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
    });
    for (let i = 0; i < 5; i++) {
      await stopAgent();
      await startAgent();
      expect(hooks()).toEqual(want);
    }
    const done = new Promise((r) => loop.once('exit', r));
    loop.stdin!.end();
    await done;
    const { ok, bad } = JSON.parse(out) as { ok: Record<string, number>; bad: number[] };
    expect(bad).toEqual([]);
    expect(Object.keys(ok).sort()).toEqual(BACKENDS);
    expect(readFileSync(logFile, 'utf8')).toContain('"links":{"connect4":"updated"');
  }, 120_000);
});
