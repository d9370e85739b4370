// Where traffic goes, end to end: topology hints (trafficDistribution) and Maglev, two nodes with an
// agent each, fed from manifests as the EndpointSlice controller would write them (node1 is zone-a,
// node2 zone-b; the hints follow src/lab/hints.ts, which the lab's controller uses).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeRoot } from '../lib/root.js';
import { MultiNodeCluster } from '../lib/multinode.js';
import { nsRun } from '../../src/lab/namespaces.js';

interface Ep {
  pod: string;
  ip: string;
  node: string;
  zone: string;
}
const ZONES: Record<string, string> = { node1: 'zone-a', node2: 'zone-b' };

function nodeYaml(name: string, address: string): string {
  return (
    `apiVersion: v1\nkind: Node\nmetadata: {name: ${name}, labels: {topology.kubernetes.io/zone: ${ZONES[name]}}}\n` +
    `status: {addresses: [{type: InternalIP, address: "${address}"}]}\n`
  );
}

function serviceYaml(name: string, clusterIP: string, extra: string, nodePort?: number): string {
  return (
    `apiVersion: v1\nkind: Service\nmetadata: {name: ${name}, namespace: default${extra.startsWith('annotations') ? `, ${extra}` : ''}}\n` +
    `spec:\n  clusterIP: ${clusterIP}\n${nodePort ? '  type: NodePort\n' : ''}` +
    `${extra.startsWith('annotations') ? '' : `  ${extra}\n`}` +
    `  ports: [{port: 80, targetPort: 80, protocol: TCP${nodePort ? `, nodePort: ${nodePort}` : ''}}]\n`
  );
}

/** The slice as Kubernetes' controller writes it for @hints (none, zone, or node + zone). */
function sliceYaml(svc: string, eps: Ep[], hints: 'none' | 'zone' | 'node'): string {
  const hint = (e: Ep) =>
    hints === 'none'
      ? ''
      : `\n    hints: {forZones: [{name: ${e.zone}}]${hints === 'node' ? `, forNodes: [{name: ${e.node}}]` : ''}}`;
  return (
    `apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: ${svc}-1\n  namespace: default\n` +
    `  labels: {kubernetes.io/service-name: ${svc}}\naddressType: IPv4\nports: [{port: 80, protocol: TCP}]\nendpoints:\n` +
    eps
      .map(
        (e) =>
          `  - addresses: ["${e.ip}"]\n    conditions: {ready: true}\n    nodeName: ${e.node}\n    zone: ${e.zone}${hint(e)}`,
      )
      .join('\n') +
    '\n'
  );
}

describeRoot('topology hints and Maglev, end to end (2 nodes in 2 zones)', () => {
  let c: MultiNodeCluster;
  const A = ['a1', 'a2'],
    B = ['b1', 'b2'];
  const M = ['a1', 'a2', 'b1', 'b2', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6'];
  const ep = (pod: string): Ep => ({ pod, ip: c.pod(pod).ip, node: c.pod(pod).node, zone: ZONES[c.pod(pod).node]! });
  const answers = (url: string, count: number) => {
    const r = c.probe(c.pod('client1').ns, ['http', url, '--count', String(count)]);
    expect(r.errors).toEqual({});
    return r.answers;
  };
  /** The pods that answer connections from the external client's source ports @sports through @node,
   *  one after another (Node sets SO_REUSEADDR, so a port in TIME_WAIT can be bound again; curl can't). */
  const viaPorts = (node: string, sports: number[]): string[] => {
    const script = `const net = require('node:net');
      const one = (port) => new Promise((done) => {
        const s = net.connect({ host: '${c.node(node).address}', port: 30090, localPort: port, timeout: 3000 }, () =>
          s.end('GET /hostname.html HTTP/1.0\\r\\n\\r\\n'));
        let body = ''; s.on('data', (d) => { body += d; });
        s.on('end', () => done(body.split('\\r\\n\\r\\n')[1]?.trim() ?? 'no body'));
        s.on('timeout', () => { s.destroy(); done('timeout'); }); s.on('error', (e) => done(e.code));
      });
      (async () => { const out = []; for (const p of ${JSON.stringify(sports)}) out.push(await one(p)); console.log(out.join(' ')); })();`;
    return nsRun(c.externalNs, [process.execPath, '-e', script]).trim().split(' ');
  };
  const viaPort = (node: string, sport: number) => viaPorts(node, [sport])[0]!;

  beforeAll(async () => {
    c = new MultiNodeCluster(2);
    for (const pod of ['a1', 'a2', 'm1', 'm2', 'm3']) c.addPod('node1', pod);
    for (const pod of ['b1', 'b2', 'm4', 'm5', 'm6']) c.addPod('node2', pod);
    c.addPod('node1', 'client1', { serve: false });
    for (const n of c.nodes) c.writeManifest(`node-${n.name}.yaml`, nodeYaml(n.name, n.address));
    c.writeManifest(
      'close.yaml',
      `${serviceYaml('close', '10.96.110.10', 'trafficDistribution: PreferClose')}---\n${sliceYaml('close', [...A, ...B].map(ep), 'zone')}`,
    );
    c.writeManifest(
      'samenode.yaml',
      `${serviceYaml('samenode', '10.96.110.11', 'trafficDistribution: PreferSameNode')}---\n${sliceYaml('samenode', ['a1', ...B].map(ep), 'node')}`,
    );
    c.writeManifest(
      'mag.yaml',
      `${serviceYaml('mag', '10.96.110.12', 'annotations: {switchyard.io/lb-algorithm: maglev}', 30090)}---\n${sliceYaml('mag', M.map(ep), 'none')}`,
    );
    c.startAgents();
    await c.waitFor(
      'the Services to answer',
      () =>
        c.probe(c.pod('client1').ns, [
          'http',
          'http://10.96.110.10/hostname.html',
          '--count',
          '2',
          '--timeout-ms',
          '1000',
        ]).ok === 2 && viaPort('node2', 39999).length > 0,
      30_000,
    );
  });

  afterAll(async () => {
    await c?.destroy();
  });

  it("PreferClose: a pod in zone-a reaches only zone-a endpoints, 100 of 100; with zone-a's gone, all the rest", async () => {
    expect(Object.keys(answers('http://10.96.110.10/hostname.html', 100)).sort()).toEqual(A);
    expect(Object.values(answers('http://10.96.110.10/hostname.html', 100)).reduce((x, y) => x + y)).toBe(100);
    // zone-a's endpoints leave: the controller hints the rest for zone-b, which node1 has none of.
    c.writeManifest(
      'close.yaml',
      `${serviceYaml('close', '10.96.110.10', 'trafficDistribution: PreferClose')}---\n${sliceYaml('close', B.map(ep), 'zone')}`,
    );
    await c.waitFor('zone-b endpoints to answer node1', () =>
      Object.keys(answers('http://10.96.110.10/hostname.html', 10)).every((p) => B.includes(p)),
    );
    expect(Object.keys(answers('http://10.96.110.10/hostname.html', 60)).sort()).toEqual(B);
  });

  it('PreferSameNode: a pod on node1 stays on node1', () => {
    expect(answers('http://10.96.110.11/hostname.html', 60)).toEqual({ a1: 60 });
  });

  it('Maglev NodePort: the same client port through node1 and node2 lands on the same backend, 20 of 20', () => {
    const ports = Array.from({ length: 20 }, (_, i) => 41000 + i * 3);
    const via1 = viaPorts('node1', ports);
    const via2 = viaPorts('node2', ports);
    expect(via1.every((p) => M.includes(p))).toBe(true);
    expect(via2).toEqual(via1);
    expect(new Set(via1).size).toBeGreaterThan(3);
  });

  it('Maglev: 10 → 9 backends keeps at least 85% of tuples on their backend', async () => {
    const ports = Array.from({ length: 200 }, (_, i) => 42000 + i * 3);
    const before = viaPorts('node1', ports);
    c.writeManifest(
      'mag.yaml',
      `${serviceYaml('mag', '10.96.110.12', 'annotations: {switchyard.io/lb-algorithm: maglev}', 30090)}---\n${sliceYaml('mag', M.filter((p) => p !== 'm6').map(ep), 'none')}`,
    );
    // Closed flows' conntrack entries linger 10 s; new source ports probe the sync meanwhile.
    await c.waitFor('m6 to leave', () =>
      viaPorts(
        'node2',
        Array.from({ length: 30 }, (_, i) => 45000 + i),
      ).every((p) => M.includes(p) && p !== 'm6'),
    );
    await new Promise((r) => setTimeout(r, 11_000));
    const after = viaPorts('node1', ports);
    expect(after).not.toContain('m6');
    const kept = before.filter((pod, i) => pod === after[i]).length;
    const movedOthers = before.filter((pod, i) => pod !== 'm6' && pod !== after[i]).length;
    console.log(
      `maglev 10 → 9: ${kept}/${ports.length} tuples kept, ${before.filter((p) => p === 'm6').length} were on m6, ${movedOthers} others moved`,
    );
    expect(kept / ports.length).toBeGreaterThanOrEqual(0.85);
  }, 90_000);
});
