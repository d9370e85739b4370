// The troubleshooting tools on a lab, as the acceptance asks: `diagnose` on a healthy
// Service (all ✓), on a selector matching nothing, on an app listening on 127.0.0.1 only; `trace`
// naming a backend and the rewritten packet while leaving the maps byte-identical; `explain`
// showing drift after a slot is deleted by hand with the agent stopped.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { describeRoot } from '../lib/root.js';
import { switchyard, switchyardRaw, withLab } from '../lib/lab-cli.js';
import type { LabStatus } from '../../src/lab/lab-status.js';
import type { ExplainReport } from '../../src/explain/explain-report.js';
import type { TraceResult } from '../../src/explain/trace.js';

const dir = mkdtempSync(join(tmpdir(), 'sy-tools-'));
const STICKY = '10.99.99.100';

const broken = `apiVersion: v1
kind: Service
metadata: {name: nomatch}
spec:
  selector: {app: nothing}
  ports: [{port: 80, targetPort: 80}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: local-only}
spec:
  replicas: 1
  selector: {matchLabels: {app: local-only}}
  template:
    metadata: {labels: {app: local-only}}
    spec:
      containers: [{name: app, image: local-only:v1, args: ["--bind=127.0.0.1"]}]
---
apiVersion: v1
kind: Service
metadata: {name: local-only}
spec:
  selector: {app: local-only}
  ports: [{port: 80, targetPort: 80}]
`;

/** The maps trace's program writes, as bpftool dumps them: raw bytes, not our codecs. */
function dumpMaps(pinDir: string): string {
  return ['conntrack', 'affinity', 'frags', 'stats', 'counters']
    .map((m) =>
      execFileSync('bpftool', ['map', 'dump', 'pinned', join(pinDir, m)], { encoding: 'utf8', maxBuffer: 1 << 29 }),
    )
    .join('\n');
}

describeRoot('lab troubleshooting tools', () => {
  let first: LabStatus;
  const L = withLab({
    letter: 'x',
    afterUp: ({ lab, status }) => {
      writeFileSync(join(dir, 'broken.yaml'), broken);
      lab('apply', '-f', join(dir, 'broken.yaml'));
      first = status();
    },
    afterDown: () => rmSync(dir, { recursive: true, force: true }),
  });
  const NAME = L.name;
  const { lab } = L;

  it('diagnose: a healthy Service gets only ✓ (and the ping note), exit 0', () => {
    const r = switchyardRaw('diagnose', '--lab', NAME, 'my-nginx');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(10);
    expect(lines.filter((l) => !l.startsWith('✓') && !l.startsWith('·'))).toEqual([]);
    expect(r.stdout).toContain('✓ the name my-nginx.default.svc.cluster.local resolves');
    expect(r.stdout).toContain('· ping to a cluster IP is not expected to answer');
  });

  it('diagnose: says the selector matches nothing, and what to do', () => {
    const r = switchyardRaw('diagnose', '--lab', NAME, 'nomatch');
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('✗ the selector app=nothing matches pods: no pod in default has these labels');
    expect(r.stdout).toContain('✗ ready endpoints are present');
    expect(r.stdout).toMatch(/→ fix the Service's selector/);
  });

  it('diagnose: says the app listens on localhost only', () => {
    const r = switchyardRaw('diagnose', '--lab', NAME, 'local-only');
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('✓ the selector app=local-only matches 1 pod(s)');
    expect(r.stdout).toMatch(
      /✗ the app listens on all addresses, not only localhost: listening on localhost only: local-only-\S+ \(127\.0\.0\.1\)/,
    );
    expect(r.stdout).toContain('✗ the pod IPs answer directly on 80');
  });

  it('diagnose: tells the targetPort from the Service port', () => {
    const r = switchyardRaw('diagnose', '--lab', NAME, 'echo-udp', '--port', '5353');
    expect(r.status).toBe(1);
    expect(r.stdout).toContain(
      "✗ port 5353 is a Service port: 5353 is the targetPort (the pods' port) of Service port 53",
    );
  });

  it('trace: names a backend and shows the rewritten packet; the maps are byte-identical afterwards', () => {
    const client = first.pods.find((p) => p.deployment === 'client' && p.node === 'node1')!;
    const pinDir = first.nodes.find((n) => n.name === 'node1')!.pinDir;
    const myapp = first.services.find((s) => s.name === 'myapp-sticky')!.endpoints;
    const before = dumpMaps(pinDir);
    const r = JSON.parse(
      switchyard('trace', '--lab', NAME, '--from', client.ip, '--to', `${STICKY}:80`, '-o', 'json'),
    ) as TraceResult;
    const text = switchyard('trace', '--lab', NAME, '--from', `${client.ip}:40001`, '--to', `${STICKY}:80`);
    expect(dumpMaps(pinDir)).toBe(before);
    expect(r.frontend).toMatchObject({ service: 'default/myapp-sticky:http/TCP', count: 5 });
    expect(myapp).toContain(r.backend!.address);
    expect(r.backend!.affinity).toBe('miss (entry created)');
    expect(r.rewrite).toEqual([`destination ${STICKY}:80 → ${r.backend!.address}`]);
    expect(r.decoded).toMatchObject({
      ip: { src: client.ip, dst: r.backend!.address.split(':')[0], checksumOk: true },
      tcp: { dport: 80, checksumOk: true },
    });
    expect(text).toMatch(/backend: +\d+ 10\.244\.\d+\.\d+:80, slot \d of 5; affinity miss/);
    expect(text).toContain('no state left');
  });

  it('explain: shows a Service port, then drift after a slot is deleted by hand with the agent stopped', () => {
    const report = () => JSON.parse(switchyard('explain', '--lab', NAME, 'myapp-svc', '-o', 'json')) as ExplainReport;
    const json = () => report().servicePorts;
    const running = report();
    expect(running.agent.answered).toBe(true);
    expect(running.agentDrift).toEqual([]);
    const [e] = running.servicePorts;
    expect(e.frontends).toContainEqual(
      expect.objectContaining({ address: '10.99.99.99:80', protocol: 'TCP', scope: 'internal' }),
    );
    expect(
      e.frontends.some((f) => f.scope === 'external' && f.address.endsWith(':30080') && f.flags.includes('nodeport')),
    ).toBe(true);
    expect(e.set.slots).toHaveLength(5);
    expect(e.drift).toEqual([]);
    const node1 = first.nodes.find((n) => n.name === 'node1')!;
    process.kill(node1.agent.pid!, 'SIGTERM');
    for (
      let i = 0;
      i < 100 &&
      (() => {
        try {
          process.kill(node1.agent.pid!, 0);
          return true;
        } catch {
          return false;
        }
      })();
      i++
    )
      execFileSync('sleep', ['0.1']);
    const key = Buffer.alloc(8);
    key.writeUInt32LE(e.set.id, 0);
    key.writeUInt16LE(2, 4);
    key.writeUInt8(e.set.gen, 6);
    execFileSync('bpftool', [
      'map',
      'delete',
      'pinned',
      join(node1.pinDir, 'slots'),
      'key',
      ...[...key].map((b) => String(b)),
    ]);
    const [after] = json();
    expect(after.drift).toHaveLength(1);
    expect(after.drift[0]).toMatch(/^slot 2 of set \d+ gen \d+ is missing/);
    const text = switchyard('explain', '--lab', NAME, 'myapp-svc');
    expect(text).toContain('✗ slot 2 of set');
    expect(text).toMatch(/^Agent: not answering at unix:\/run\/switchyard\/admin-\w+\.sock \(no socket/m);
    lab('restart-agent', 'node1'); // the agent rewrites what it owns
  });
});
