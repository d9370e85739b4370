// explain and diagnose on a node, with a running agent fed by the API double: explain shows the
// drift after a map entry is deleted by hand and the error the agent logged for an invalid field;
// diagnose (node mode) says a selector matches nothing, and passes a healthy Service with the
// checks a node cannot run reported as skipped; with the agent stopped, explain works from the
// pins, says so in one line, and still shows a hand deletion.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { adminSocketPath } from '../../src/inspect/admin.js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DEFAULT_TOKEN, type KubeObject } from '../../src/fakeapi/server.js';
import { LabApi } from '../../src/lab/lab-api.js';
import type { Check } from '../../src/explain/checks.js';
import type { ExplainReport } from '../../src/explain/explain-report.js';
import { OneNodeCluster } from '../lib/onenode.js';
import { describeRoot } from '../lib/root.js';

const CLI = new URL('../../dist/cli/main.js', import.meta.url).pathname;

const obj = (o: Record<string, unknown>) => o as unknown as KubeObject;
const service = (name: string, ip: string, extra: Record<string, unknown> = {}, port = 80) =>
  obj({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'default' },
    spec: { clusterIP: ip, ports: [{ name: 'http', port, targetPort: 80, protocol: 'TCP' }], ...extra },
  });
const slice = (service: string, ips: string[]) =>
  obj({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${service}-abc`, namespace: 'default', labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
    endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true }, nodeName: 'node1' })),
  });
const pod = (name: string, app: string, ip: string, namespace = 'default') =>
  obj({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels: { app } },
    spec: { nodeName: 'node1' },
    status: { podIP: ip },
  });

describeRoot('explain and diagnose on a node', () => {
  let c: OneNodeCluster;
  let kubeconfig: string;
  let webIp: string;
  let clientIp: string;

  /** The CLI inside the node's namespace, as an operator on the node runs it. */
  const cli = (...args: string[]) => {
    const r = spawnSync('ip', ['netns', 'exec', c.nodeNs, process.execPath, CLI, ...args], { encoding: 'utf8' });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const explainJson = (svc: string) => {
    const r = cli('explain', '--pin-dir', c.pinDir, svc, '-o', 'json');
    expect(r.stderr).toBe('');
    return JSON.parse(r.stdout) as ExplainReport;
  };
  const diagnose = (svc: string, ...args: string[]) =>
    cli('diagnose', svc, '--kubeconfig', kubeconfig, '--pin-dir', c.pinDir, '--hostname-override', 'node1', ...args);
  const deleteEntry = (map: string, key: Buffer) =>
    execFileSync('bpftool', ['map', 'delete', 'pinned', join(c.pinDir, map), 'key', ...[...key].map(String)]);

  beforeAll(async () => {
    c = new OneNodeCluster();
    webIp = c.addPod('web');
    clientIp = c.addPod('client', { serve: false });
    kubeconfig = await c.startApiServer();
    const api = new LabApi(c.apiSocket, DEFAULT_TOKEN);
    for (const o of [
      obj({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node1' } }),
      service('web', '10.96.100.10', { selector: { app: 'web' } }),
      slice('web', [webIp]),
      service('nomatch', '10.96.100.11', { selector: { app: 'nothing' } }),
      service('drifty', '10.96.100.12'),
      slice('drifty', [webIp]),
      service('bad', '10.96.100.13', {}, 0),
      pod('web-1', 'web', webIp),
      pod('client-1', 'client', clientIp),
      pod('client-2', 'client', clientIp, 'other'), // the same veth, seen as a pod of another namespace
    ])
      await api.apply(o);
    c.startAgent({ kubeconfig });
    await c.waitFor(
      'web to answer',
      () => c.probe('client', ['http', 'http://10.96.100.10/hostname.html']).ok === 1,
      20_000,
    );
  });

  afterAll(async () => {
    await c?.destroy();
  });

  it('explain: no drift while the maps hold what the agent wants', () => {
    const r = explainJson('web');
    expect(r.agent.answered).toBe(true);
    expect(r.servicePorts.map((e) => e.service)).toEqual(['default/web:http/TCP']);
    expect(r.agentDrift).toEqual([]);
    expect(r.agentErrors).toEqual([]);
  });

  it('explain and diagnose: a frontend deleted by hand is drift against the agent, on its own line', () => {
    const key = Buffer.alloc(8); // {addr, port (network order), proto, scope}
    Buffer.from([10, 96, 100, 12]).copy(key, 0);
    key.writeUInt16BE(80, 4);
    key.writeUInt8(6, 6);
    key.writeUInt8(0, 7);
    deleteEntry('frontends', key);
    const r = explainJson('drifty');
    expect(r.agentDrift).toEqual([
      'default/drifty:http/TCP: frontend 10.96.100.12:80/TCP (internal) is missing: the agent wants it ' +
        `(svc ${r.agentDrift?.[0].match(/svc (\d+)/)?.[1]}, set ${r.agentDrift?.[0].match(/set (\d+)/)?.[1]})`,
    ]);
    const text = cli('explain', '--pin-dir', c.pinDir, 'drifty').stdout;
    expect(text).toMatch(/^Agent \(unix:\/run\/switchyard\/admin-\w+\.sock\): 1 difference\(s\)/m);
    expect(text).toContain('  ✗ default/drifty:http/TCP: frontend 10.96.100.12:80/TCP (internal) is missing');
    const d = diagnose('drifty');
    expect(d.stdout).toMatch(
      /^✗ the maps hold what the agent wants for default\/drifty: default\/drifty:http\/TCP: frontend 10\.96\.100\.12:80\/TCP \(internal\) is missing/m,
    );
  });

  it("explain: an invalid Service shows the agent's error naming the field", () => {
    const r = cli('explain', '--pin-dir', c.pinDir, 'bad');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Errors it logged for bad:\n +\S+ Service default\/bad: spec\.ports\[0\]\.port: /);
  });

  it('diagnose on a node: a selector matching nothing says so, and what to do', () => {
    const r = diagnose('nomatch');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(1);
    expect(r.stdout).toContain(
      '✗ the selector app=nothing matches pods: no pod in default has these labels (pods have: app=client | app=web)',
    );
    expect(r.stdout).toContain("    → fix the Service's selector or the pod template's labels so they agree");
    expect(r.stdout).toContain('✗ ready endpoints are present');
  });

  it('diagnose on a node: a healthy Service is all ✓, what a node cannot check is skipped with why', () => {
    const r = diagnose('web', '--from', 'client-1');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const json = JSON.parse(diagnose('web', '--from', 'client-1', '-o', 'json').stdout) as Check[];
    expect(json.filter((x) => x.status === 'fail')).toEqual([]);
    expect(json.filter((x) => x.status === 'ok').map((x) => x.title)).toEqual([
      'Service default/web exists and has a cluster IP',
      'the selector app=web matches 1 pod(s)',
      '1 ready endpoint(s)',
      'port 80 is the Service port',
      'the frontend 10.96.100.10:80 is programmed on node1',
      'the agent logged no error for default/web',
      'the maps hold what the agent wants for default/web',
      `the program is attached to client-1's veth ${c.pods.get('client')!.hostIf}`,
      'the pod IPs answer directly on 80',
      'the no-endpoint reject counter is not rising',
    ]);
    expect(json.filter((x) => x.status === 'skip').map((x) => x.title)).toEqual([
      'the app does not listen on localhost only',
      'the name web.default.svc.cluster.local resolves',
      'a connection to 10.96.100.10:80 from a pod succeeds',
    ]);
    expect(r.stdout).toMatch(/^– the app does not listen on localhost only: skipped, needs the pod's own namespace/m);
    expect(r.stdout).toContain('· ping to a cluster IP is not expected to answer');
    const other = diagnose('web', '--from', 'other/client-2').stdout;
    expect(other).toContain(`✓ the program is attached to other/client-2's veth ${c.pods.get('client')!.hostIf}`);
  });

  it('diagnose on a node: the agent’s error for an invalid Service names the field', () => {
    const r = diagnose('bad');
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(
      /✗ the agent logged no error for default\/bad: Service default\/bad: spec\.ports\[0\]\.port: /,
    );
  });

  it('explain with the agent stopped: from the pins, said in one line, drift after a hand deletion', async () => {
    await c.stopAgent();
    expect(existsSync(adminSocketPath(c.pinDir))).toBe(false); // a stopped agent removes its socket
    const before = explainJson('web');
    expect(before.agent.answered).toBe(false);
    expect(before.servicePorts[0].drift).toEqual([]);
    const set = before.servicePorts[0].set;
    const key = Buffer.alloc(8); // {set_id, slot, gen, pad}
    key.writeUInt32LE(set.id, 0);
    key.writeUInt16LE(1, 4);
    key.writeUInt8(set.gen, 6);
    deleteEntry('slots', key);
    const r = cli('explain', '--pin-dir', c.pinDir, 'web');
    expect(r.stdout).toContain(`✗ slot 1 of set ${set.id} gen ${set.gen} is missing`);
    expect(r.stdout).toMatch(
      /^Agent: not answering at unix:\S+ \(no socket \(agent not running\)\): from the pins only/m,
    );
    expect(r.stdout.split('\n').filter((l) => l.startsWith('Agent'))).toHaveLength(1);
  });
});
