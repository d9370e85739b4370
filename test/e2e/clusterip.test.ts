// ClusterIP end to end on one node: real pods, a real agent fed from manifests, real TCP and UDP.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeRoot } from '../lib/root.js';
import { OneNodeCluster } from '../lib/onenode.js';
import { run } from '../../src/lab/namespaces.js';
import { inNetns, tcPrograms } from '../../src/bpf/index.js';

const CLI = new URL('../../dist/cli/main.js', import.meta.url).pathname;

const VIP = '10.96.100.10';

function webService(ports: string): string {
  return `apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  clusterIP: ${VIP}
  ports:
${ports}`;
}
const WEB_PORTS = `  - {name: http, port: 80, targetPort: http, protocol: TCP}
  - {name: echo, port: 53, targetPort: 5353, protocol: UDP}
`;

function webSlice(ips: string[], extraPorts = ''): string {
  return `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-abc
  namespace: default
  labels: {kubernetes.io/service-name: web}
addressType: IPv4
ports:
  - {name: http, port: 80, protocol: TCP}
  - {name: echo, port: 5353, protocol: UDP}
${extraPorts}endpoints:
${ips.map((ip) => `  - addresses: ["${ip}"]\n    conditions: {ready: true}\n    nodeName: node1`).join('\n')}
`;
}

const EMPTY_SERVICE = `apiVersion: v1
kind: Service
metadata: {name: empty, namespace: default}
spec:
  clusterIP: 10.96.100.20
  ports: [{name: http, port: 80, protocol: TCP}]
`;

describeRoot('ClusterIP end to end', () => {
  let c: OneNodeCluster;
  const backends: string[] = [];

  beforeAll(async () => {
    c = new OneNodeCluster();
    for (const name of ['web1', 'web2', 'web3']) backends.push(c.addPod(name));
    c.addPod('client1', { serve: false });
    c.addPod('client2', { serve: false });
    c.writeManifest('web.yaml', `${webService(WEB_PORTS)}---\n${webSlice(backends)}`);
    c.writeManifest('empty.yaml', EMPTY_SERVICE);
    c.writeManifest('broken.yaml', 'kind: Service\n  metadata: [unclosed\n');
    c.writeManifest(
      'bad-port.yaml',
      `apiVersion: v1
kind: Service
metadata: {name: badport, namespace: default}
spec:
  clusterIP: 10.96.100.30
  ports: [{name: http, port: 0, protocol: TCP}]
`,
    );
    c.startAgent();
    await c.waitFor(
      'the ClusterIP to answer',
      () => c.probe('client1', ['http', `http://${VIP}/hostname.html`]).ok === 1,
      20_000,
    );
  });

  afterAll(async () => {
    await c?.destroy();
  });

  it('spreads 300 new connections over every backend, each at least 15%', () => {
    const r = c.probe('client1', ['http', `http://${VIP}/hostname.html`, '--count', '300']);
    expect(r.failed).toBe(0);
    expect(Object.keys(r.answers).sort()).toEqual(['web1', 'web2', 'web3']);
    for (const n of Object.values(r.answers)) expect(n).toBeGreaterThanOrEqual(45);
  });

  it('answers UDP through the ClusterIP, from the backend, translated back', () => {
    // The probe's socket is connected to VIP:53: a reply not translated back is never received.
    const r = c.probe('client2', ['udp', `${VIP}:53`, '--count', '30']);
    expect(r.ok).toBe(30);
    expect(Object.keys(r.answers).every((pod) => pod.startsWith('web'))).toBe(true);
  });

  it('lets a pod reach its own Service (hairpin)', () => {
    const r = c.probe('web1', ['http', `http://${VIP}/hostname.html`, '--count', '30']);
    expect(r.failed).toBe(0);
    expect(r.answers.web1).toBeGreaterThan(0);
  });

  it('attaches to pod interfaces that appear after the agent started', async () => {
    c.addPod('late', { serve: false });
    const hostIf = c.pods.get('late')!.hostIf;
    // tcx on this kernel (Linux ≥ 6.6); a clsact filter on older ones.
    const attached = (program: string, direction: string) =>
      new RegExp(
        `"device":"${hostIf}","program":"${program}","direction":"${direction}","mode":"(tcx|clsact)","msg":"attached"`,
      );
    // The two hooks attach one after the other, and the first (from_pod) is enough for a
    // connection to a local backend: that backend's own from_pod translates the reply. So the
    // probe can answer before the to_pod line is written; wait for both lines, not just one.
    await c.waitFor('both programs to attach to the new pod', () => {
      const log = c.agentLogText();
      return attached('from_pod', 'ingress').test(log) && attached('to_pod', 'egress').test(log);
    });
    await c.waitFor(
      'the new pod to reach the ClusterIP',
      () => c.probe('late', ['http', `http://${VIP}/hostname.html`, '--timeout-ms', '500']).ok === 1,
    );
  });

  it('refuses connections at once when a Service has no endpoints', () => {
    const r = c.probe('client1', ['http', 'http://10.96.100.20/', '--count', '3', '--timeout-ms', '1500']);
    expect(r.failed).toBe(3);
    expect(r.errors).toEqual({ ECONNREFUSED: 3 });
  });

  it('logs invalid manifests with file and field, and keeps serving the rest', () => {
    const log = c.agentLogText();
    expect(log).toMatch(/broken\.yaml/);
    expect(log).toMatch(/bad-port\.yaml.*default\/badport.*spec\.ports\[0\]\.port/);
    expect(c.probe('client1', ['http', `http://${VIP}/`]).ok).toBe(1);
  });

  it('keeps serving with the agent stopped, inspect reads the pins, and a restarted agent rewrites nothing', async () => {
    await c.stopAgent();
    expect(c.probe('client1', ['http', `http://${VIP}/hostname.html`, '--count', '20']).failed).toBe(0);

    const services = JSON.parse(
      run(process.execPath, [CLI, 'inspect', 'services', '--pin-dir', c.pinDir, '-o', 'json']),
    ) as Array<{
      service: string;
      frontends: string[];
      backends: Array<{ address: string }>;
      newConnections: number;
      noEndpointRejects: number;
    }>;
    const web = services.find((s) => s.service === 'default/web:http/TCP');
    expect(web?.frontends).toEqual([`${VIP}:80/TCP`]);
    expect(web?.backends.map((b) => b.address).sort()).toEqual(backends.map((ip) => `${ip}:80`).sort());
    expect(web?.newConnections).toBeGreaterThanOrEqual(320);
    expect(services.find((s) => s.service === 'default/empty:http/TCP')?.noEndpointRejects).toBeGreaterThanOrEqual(3);
    expect(services.some((s) => s.service.includes('badport'))).toBe(false);
    const flows = run(process.execPath, [CLI, 'inspect', 'conntrack', '--pin-dir', c.pinDir]);
    expect(flows).toMatch(/^PROTO\s+DIR\s+TUPLE/);
    expect(flows).toMatch(new RegExp(`→ ${VIP.replace(/\./g, '\\.')}:80 +dst→10\\.244\\.0\\.\\d+:80`));

    c.startAgent();
    await c.waitFor('the restarted agent to sync', () => c.agentLogText().split('"agent started"').length === 3);
    const lastSync =
      c
        .agentLogText()
        .split('\n')
        .filter((l) => l.includes('"sync applied"'))
        .at(-1) ?? '';
    expect(JSON.parse(lastSync)).toMatchObject({ writes: 0, deletes: 0 });
    // The restarted agent's programs replaced the old ones on every hook: one each, never two.
    const dev = c.pods.get('client1')!.hostIf;
    const names = (direction: 'ingress' | 'egress') =>
      inNetns(c.nodeNs, () => tcPrograms(dev, direction)).map((p) => `${p.name} ${p.mode}`);
    expect(names('ingress')).toEqual(['from_pod tcx']);
    expect(names('egress')).toEqual(['to_pod tcx']);
  });

  it('scales endpoints down without failing a new connection', async () => {
    const loop = c.probeAsync('client1', ['http', `http://${VIP}/hostname.html`, '--duration-ms', '4000']);
    await new Promise((r) => setTimeout(r, 800));
    const changedAt = Date.now();
    c.writeManifest('web.yaml', `${webService(WEB_PORTS)}---\n${webSlice(backends.slice(0, 2))}`);
    const during = await loop;
    const loopEnd = Date.now();
    expect(during.failed).toBe(0);
    // The loop really spanned the change: it saw web3 before, and the agent applied the change
    // while it still had a second or more to run.
    expect(during.answers.web3).toBeGreaterThan(0);
    expect(c.syncTimesAfter(changedAt)[0]).toBeLessThan(loopEnd - 1000);
    const after = c.probe('client1', ['http', `http://${VIP}/hostname.html`, '--count', '60']);
    expect(Object.keys(after.answers).sort()).toEqual(['web1', 'web2']);
  });

  it('applies a Service edit to new connections and keeps established ones', async () => {
    const held = c.probeAsync('client2', [
      'hold',
      `http://${VIP}/hostname.html`,
      '--duration-ms',
      '4000',
      '--gap-ms',
      '100',
    ]);
    await new Promise((r) => setTimeout(r, 700));
    const changedAt = Date.now();
    // As the EndpointSlice controller would: the new port appears in the slice too.
    c.writeManifest(
      'web.yaml',
      `${webService(`${WEB_PORTS}  - {name: alt, port: 8080, targetPort: 80, protocol: TCP}\n`)}---\n${webSlice(backends.slice(0, 2), '  - {name: alt, port: 80, protocol: TCP}\n')}`,
    );
    await c.waitFor(
      'the new port to answer',
      () => c.probe('client1', ['http', `http://${VIP}:8080/hostname.html`]).ok === 1,
    );
    const r = await held;
    const heldEnd = Date.now();
    expect(r.failed).toBe(0);
    expect(r.connections).toBe(1);
    // The edit was applied while the held connection still had requests to make.
    expect(c.syncTimesAfter(changedAt)[0]).toBeLessThan(heldEnd - 1000);
    expect(Object.keys(r.answers)).toHaveLength(1);
  });

  it('stops answering on the ClusterIP once the Service is deleted', async () => {
    c.removeManifest('web.yaml');
    await c.waitFor(
      'the ClusterIP to go quiet',
      () => c.probe('client1', ['http', `http://${VIP}/`, '--timeout-ms', '500']).failed === 1,
    );
    const r = c.probe('client1', ['http', `http://${VIP}/`, '--count', '3', '--timeout-ms', '500']);
    expect(r.ok).toBe(0);
  });
});
