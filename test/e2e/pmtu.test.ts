// Path-MTU discovery through a ClusterIP (issue 13): a pod on node1 sends 1 MB over TCP to a
// Service whose backend is on node2, and the path between the nodes has a lower MTU (1300) than
// both ends (1500): node1 reaches node2's pods through a router whose link to node2 is narrower.
// The router answers the client's full-size don't-fragment segments with ICMP frag-needed quoting
// them as they left node1 (client → backend); node1's from_netdev must translate the quote back
// (client → ClusterIP) or the client's socket ignores it and the transfer stalls.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { spawnIn } from '../../src/lab/namespaces.js';
import { describeRoot } from '../lib/root.js';
import { MultiNodeCluster, NODE_BIN } from '../lib/multinode.js';

const VIP = '10.96.100.60';
const PORT = 9000;
const ROUTER = '10.250.0.250';
const NARROW_MTU = 1300;
const BYTES = 1 << 20;

// Counts what it receives and, when the client half-closes, answers the count.
const SINK = `require('net').createServer((s) => {
  let n = 0;
  s.on('data', (d) => { n += d.length; });
  s.on('end', () => s.end(String(n)));
}).listen(${PORT}, '0.0.0.0');`;
// Sends BYTES and prints the sink's count (retrying the connect while the sink starts).
const SENDER = `let tries = 0;
function go() {
  const s = require('net').connect(${PORT}, '${VIP}');
  let answer = '', sent = false;
  s.on('connect', () => { sent = true; s.end(Buffer.alloc(${BYTES}, 120)); });
  s.on('data', (d) => { answer += d; });
  s.on('end', () => { console.log(answer); process.exit(0); });
  s.on('error', (e) => {
    if (!sent && ++tries < 40) return setTimeout(go, 250);
    console.log('error ' + e.code);
    process.exit(1);
  });
}
go();`;

describeRoot('path-MTU discovery through a ClusterIP over a narrower path (2 nodes)', () => {
  let c: MultiNodeCluster;
  let client = '';

  beforeAll(async () => {
    c = new MultiNodeCluster(2);
    const node1 = c.node('node1'),
      node2 = c.node('node2');
    client = c.addPod('node1', 'sender', { serve: false }).ns;
    const sink = c.addPod('node2', 'sink', { serve: false });
    spawnIn(sink.ns, [NODE_BIN, '-e', SINK]);

    // The router: one leg on the underlay bridge, one narrow link to node2. node1 sends node2's pod
    // traffic through it; node2 answers directly over the underlay.
    const rtr = `${c.topo.prefix}-rtr`,
      ip = (...a: string[]) => execFileSync('ip', a);
    ip('netns', 'add', rtr);
    ip(
      '-n',
      c.topo.underlayNs,
      'link',
      'add',
      `${c.topo.prefix}ur`,
      'type',
      'veth',
      'peer',
      'name',
      'eth0',
      'netns',
      rtr,
    );
    ip('-n', c.topo.underlayNs, 'link', 'set', `${c.topo.prefix}ur`, 'master', 'br0', 'up');
    ip(
      '-n',
      rtr,
      'link',
      'add',
      'narrow',
      'mtu',
      String(NARROW_MTU),
      'type',
      'veth',
      'peer',
      'name',
      'narrow',
      'netns',
      node2.ns,
    );
    ip('-n', node2.ns, 'link', 'set', 'narrow', 'mtu', String(NARROW_MTU), 'up');
    ip('-n', node2.ns, 'addr', 'add', '10.251.0.2/30', 'dev', 'narrow');
    ip('-n', rtr, 'addr', 'add', `${ROUTER}/24`, 'dev', 'eth0');
    ip('-n', rtr, 'addr', 'add', '10.251.0.1/30', 'dev', 'narrow');
    for (const dev of ['lo', 'eth0', 'narrow']) ip('-n', rtr, 'link', 'set', dev, 'up');
    execFileSync('ip', ['netns', 'exec', rtr, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    ip('-n', rtr, 'route', 'add', node2.podCidr, 'via', '10.251.0.2');
    ip('-n', rtr, 'route', 'add', node1.podCidr, 'via', node1.address);
    ip('-n', node1.ns, 'route', 'replace', node2.podCidr, 'via', ROUTER, 'dev', 'eth0');

    c.writeManifest(
      'sink.yaml',
      `apiVersion: v1
kind: Service
metadata: {name: sink, namespace: default}
spec:
  clusterIP: ${VIP}
  ports: [{name: data, port: ${PORT}, protocol: TCP}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: sink-1, namespace: default, labels: {kubernetes.io/service-name: sink}}
addressType: IPv4
ports: [{name: data, port: ${PORT}, protocol: TCP}]
endpoints: [{addresses: ["${sink.ip}"], conditions: {ready: true}, nodeName: node2}]
`,
    );
    c.startAgents();
    await c.waitFor("both agents' first sync", () =>
      c.nodes.every((n) => c.agentLog(n.name).includes('"sync applied"')),
    );
  });

  afterAll(async () => {
    await c?.destroy();
  });

  it(`moves 1 MB from a pod through the ClusterIP over a ${NARROW_MTU}-byte-MTU path, learning the path MTU`, () => {
    const t0 = Date.now();
    const out = execFileSync('ip', ['netns', 'exec', client, 'timeout', '30', NODE_BIN, '-e', SENDER], {
      encoding: 'utf8',
    }).trim();
    const pmtu = execFileSync('ip', ['-n', client, 'route', 'get', VIP], { encoding: 'utf8' });
    console.log(
      `1 MB through ${VIP} over a ${NARROW_MTU}-byte path in ${Date.now() - t0} ms; client's route: ${pmtu.trim()}`,
    );
    expect(out).toBe(String(BYTES));
    // The client learned the narrower MTU for the Service address: the frag-needed reached its socket.
    expect(pmtu).toContain(`mtu ${NARROW_MTU}`);
  });
});
