// Issue 14 acceptance, socket LB in the lab: from node1's own namespace (`lab exec node1`, in the
// node's cgroup), the ClusterIP over TCP and UDP, node2's NodePort and the `kubernetes` Service
// answer, spread over every endpoint, and getpeername / recvfrom show the Service address. 60
// tries per Service over 5 endpoints: one missed by chance is ~1e-5.
import { expect, it } from 'vitest';
import { withLab } from '../lib/lab-cli.js';
import { PY_TCP_SPREAD } from '../lib/py-clients.js';
import { describeRoot } from '../lib/root.js';

const CLIENT = `${PY_TCP_SPREAD}def udp(host, port, n=60):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(2); srcs, seen = set(), set()
    for _ in range(n):
        u.sendto(b'hi', (host, port)); d, src = u.recvfrom(4096)
        srcs.add('%s:%d' % src); seen.add(d.decode().split(' ')[0])
    return {'answers': sorted(seen), 'sources': sorted(srcs)}
k = socket.create_connection(('10.96.0.1', 443), timeout=2)
out = {'clusterip': tcp('10.99.99.99', 80), 'nodeport': tcp('10.250.0.12', 30080),
       'udp': udp('10.99.99.53', 53), 'kubernetes': k.getpeername()[0]}
print(json.dumps(out))
`;

describeRoot('lab: socket LB from a node namespace', () => {
  const L = withLab({ letter: 'k' });

  it('ClusterIP TCP+UDP, node2 NodePort and the kubernetes Service answer from node1, spread', () => {
    const myapp = L.podsOf('myapp-deploy', L.status())
      .map((p) => p.name)
      .sort();
    expect(myapp.length).toBeGreaterThan(1);
    const out = JSON.parse(L.exec('node1', 'python3', '-c', CLIENT)) as Record<string, any>;
    expect(out.clusterip).toEqual({ answers: myapp, peers: ['10.99.99.99'], errnos: [] });
    expect(out.nodeport).toEqual({ answers: myapp, peers: ['10.250.0.12'], errnos: [] });
    expect(out.udp).toEqual({ answers: myapp, sources: ['10.99.99.53:53'] });
    expect(out.kubernetes).toBe('10.96.0.1');
  }, 60_000);
});
