// Host-network endpoints in the lab (issue 14): the hostnet-web example (hostNetwork: true, one
// pod per node on port 8080 of the node address) and the `kubernetes` Service (the API server on
// node1's address) reached through their ClusterIPs from a pod on each node — the same node's
// endpoint needs to_pod. And the lab's cgroups: one per node, per pod, gone after down.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { DEFAULT_TOKEN } from '../../src/fakeapi/server.js';
import { unifiedRoot } from '../../src/lab/cgroups.js';
import { prefixOf } from '../../src/lab/lab-state.js';
import type { LabStatus } from '../../src/lab/lab-status.js';
import { withLab } from '../lib/lab-cli.js';
import { describeRoot } from '../lib/root.js';

const HOSTNET_VIP = '10.99.99.80';
const KUBERNETES_VIP = '10.96.0.1';
const clientOn = (st: LabStatus, node: string) => st.pods.find((p) => p.deployment === 'client' && p.node === node)!;

describeRoot('lab: host-network endpoints and cgroups', () => {
  // Pods on the tc path (--socket-lb host): to_pod is what is tested here.
  const L = withLab({ letter: 'h', up: ['--socket-lb', 'host'] });
  const { lab, status, exec, probe } = L;
  const LAB_CGROUP = join(unifiedRoot(), `switchyard-lab-${prefixOf(L.name)}`);

  it('runs hostnet-web on each node address and lists the node addresses in its slice', () => {
    const pods = L.first.pods.filter((p) => p.deployment === 'hostnet-web');
    expect(pods.every((p) => p.hostNetwork && p.hostIf === '')).toBe(true);
    expect(pods.map((p) => [p.node, p.ip]).sort()).toEqual([
      ['node1', '10.250.0.11'],
      ['node2', '10.250.0.12'],
    ]);
    const svc = L.first.services.find((s) => s.name === 'hostnet-web')!;
    expect([...svc.endpoints].sort()).toEqual(['10.250.0.11:8080', '10.250.0.12:8080']);
  });

  it('a pod on each node reaches both host-network endpoints, its own node’s included, over TCP and UDP', () => {
    const hostPods = L.first.pods
      .filter((p) => p.deployment === 'hostnet-web')
      .map((p) => p.name)
      .sort();
    for (const node of ['node1', 'node2']) {
      const client = clientOn(L.first, node).name;
      const http = probe(client, 'http', `http://${HOSTNET_VIP}/hostname.html`, '--count', '40');
      expect(http.failed, `${client} on ${node}: ${JSON.stringify(http.errors)}`).toBe(0);
      expect(Object.keys(http.answers).sort()).toEqual(hostPods);
      const udp = probe(client, 'udp', `${HOSTNET_VIP}:5353`, '--count', '20');
      expect(udp.failed).toBe(0);
      expect(Object.keys(udp.answers).sort()).toEqual(hostPods);
    }
  });

  it('the kubernetes Service answers from a pod on each node with the API server behind it', () => {
    const svc = L.first.services.find((s) => s.name === 'kubernetes' && s.namespace === 'default')!;
    expect(svc).toMatchObject({ clusterIP: KUBERNETES_VIP, endpoints: ['10.250.0.11:6443'] });
    for (const node of ['node1', 'node2']) {
      const url = `http://${KUBERNETES_VIP}:443/api/v1/namespaces/default/services/kubernetes`;
      const body = exec(
        clientOn(L.first, node).name,
        'curl',
        '-s',
        '-m',
        '3',
        '-H',
        `Authorization: Bearer ${DEFAULT_TOKEN}`,
        url,
      );
      expect(JSON.parse(body)).toMatchObject({ kind: 'Service', metadata: { name: 'kubernetes' } });
    }
  });

  it('leaves a third host-network replica unscheduled: one pod per node per port', () => {
    expect(lab('scale', 'hostnet-web', '--replicas', '3')).toContain(
      'no node has ports 8080/TCP and 8080/UDP free (host network: one pod per node per port)',
    );
    expect(status().pods.filter((p) => p.deployment === 'hostnet-web')).toHaveLength(2);
    lab('scale', 'hostnet-web', '--replicas', '2');
  });

  it('runs `lab exec NODE` in the node’s cgroup, pods and agents in their own', () => {
    for (const node of ['node1', 'node2'])
      expect(exec(node, 'cat', '/proc/self/cgroup')).toContain(`0::/switchyard-lab-${prefixOf(L.name)}/${node}\n`);
    const pod = clientOn(L.first, 'node2').name;
    expect(exec(pod, 'cat', '/proc/self/cgroup')).toContain(`/switchyard-lab-${prefixOf(L.name)}/pod-${pod}\n`);
    for (const n of L.first.nodes) {
      expect(readFileSync(`/proc/${n.agent.pid}/cgroup`, 'utf8')).toContain(
        `/switchyard-lab-${prefixOf(L.name)}/${n.name}\n`,
      );
      expect(n.agent.argv.join(' ')).toMatch(/--cgroup-root \S+\/cgroup2( |$)/);
    }
    expect(L.first.cgroup?.dir).toBe(LAB_CGROUP);
    expect(existsSync(join(LAB_CGROUP, 'node1'))).toBe(true);
  });

  it('removes its cgroups on down', () => {
    L.down();
    expect(existsSync(LAB_CGROUP)).toBe(false);
  });
});
