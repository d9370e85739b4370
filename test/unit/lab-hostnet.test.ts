// Host-network pods in the lab (issue 14): placement by node port, the Deployment's hostNetwork
// field, and where the lab finds the cgroup v2 hierarchy.
import { describe, expect, it } from 'vitest';
import { placeHostPod, type HostPortSlot, type NodeSlot } from '../../src/lab/placement.js';
import { parseDeployment } from '../../src/lab/lab-objects.js';
import { inCgroup, unifiedRoot } from '../../src/lab/cgroups.js';

const NODES: NodeSlot[] = [
  { name: 'node1', podCidr: '10.244.1.0/24', index: 1 },
  { name: 'node2', podCidr: '10.244.2.0/24', index: 2 },
];
const held = (node: string, ports: number[], deployment = 'web', active = true): HostPortSlot => ({
  node,
  ip: node === 'node1' ? '10.250.0.11' : '10.250.0.12',
  deployment,
  active,
  hostPorts: ports,
});

describe('placeHostPod', () => {
  it('puts at most one pod per node on a port, and none when every node holds it', () => {
    expect(placeHostPod(NODES, [], 'web', [8080])?.name).toBe('node1');
    expect(placeHostPod(NODES, [held('node1', [8080])], 'web', [8080])?.name).toBe('node2');
    expect(placeHostPod(NODES, [held('node1', [8080]), held('node2', [8080])], 'web', [8080])).toBeUndefined();
  });

  it('lets other ports share a node, and counts a leaving pod as still holding its port', () => {
    expect(placeHostPod(NODES, [held('node1', [9090], 'other')], 'web', [8080])?.name).toBe('node2');
    expect(
      placeHostPod(NODES, [held('node1', [9090], 'other'), held('node2', [8080], 'web', false)], 'web', [8080])?.name,
    ).toBe('node1');
  });
});

const deployment = (spec: Record<string, unknown>) =>
  parseDeployment({
    file: 'hn.yaml',
    index: 0,
    object: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'hn' },
      spec: {
        selector: { matchLabels: { app: 'hn' } },
        template: { metadata: { labels: { app: 'hn' } }, spec },
      },
    },
  });

describe('parseDeployment: hostNetwork', () => {
  it('takes the TCP containerPort, and the UDP one or the same number', () => {
    const c = (ports: unknown[]) => ({ hostNetwork: true, containers: [{ image: 'x:v1', ports }] });
    expect(deployment(c([{ containerPort: 8080 }])).hostNetwork).toEqual({ tcp: 8080, udp: 8080 });
    expect(deployment(c([{ containerPort: 8080 }, { containerPort: 9053, protocol: 'UDP' }])).hostNetwork).toEqual({
      tcp: 8080,
      udp: 9053,
    });
    expect(deployment({ containers: [{ image: 'x:v1' }] }).hostNetwork).toBeUndefined();
  });

  it('names the file, the Deployment and the field when the port is missing or the value is wrong', () => {
    expect(() => deployment({ hostNetwork: true, containers: [{ image: 'x:v1' }] })).toThrow(
      /hn.yaml: Deployment hn: spec.template.spec.containers\[0\].ports: a host-network pod needs a TCP containerPort/,
    );
    expect(() => deployment({ hostNetwork: 'yes', containers: [{ image: 'x:v1' }] })).toThrow(
      /spec.template.spec.hostNetwork: expected true or false \(got yes\)/,
    );
  });

  it('changes the template hash with the host ports (a new ReplicaSet)', () => {
    const c = (port: number) => ({
      hostNetwork: true,
      containers: [{ image: 'x:v1', ports: [{ containerPort: port }] }],
    });
    expect(deployment(c(8080)).templateHash).not.toBe(deployment(c(8081)).templateHash);
  });
});

describe('cgroups', () => {
  it('finds the cgroup2 mount in /proc/mounts, and says so when there is none', () => {
    const mounts = 'cgroup /sys/fs/cgroup/cpu cgroup rw 0 0\ncgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n';
    expect(unifiedRoot(mounts)).toBe('/sys/fs/cgroup/unified');
    expect(() => unifiedRoot('cgroup /sys/fs/cgroup/cpu cgroup rw 0 0\n')).toThrow(/no cgroup v2 hierarchy is mounted/);
  });

  it('joins the cgroup in a shell that then execs the command (same PID)', () => {
    expect(inCgroup('/cg/lab/node1', ['ip', 'netns', 'exec', 'n1', 'sleep', '1'])).toEqual([
      'sh',
      '-c',
      'echo $$ > "$0/cgroup.procs" && exec "$@"',
      '/cg/lab/node1',
      'ip',
      'netns',
      'exec',
      'n1',
      'sleep',
      '1',
    ]);
  });
});
