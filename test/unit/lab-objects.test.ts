// The lab's stand-ins for Kubernetes controllers: the API server's allocators and the
// EndpointSlice controller, as pure functions.
import { describe, expect, it } from 'vitest';
import { allocateService, desiredSlices } from '../../src/lab/lab-objects.js';
import type { KubeObject } from '../../src/fakeapi/server.js';
import type { PodState } from '../../src/lab/lab-state.js';

const svc = (name: string, spec: Record<string, unknown>) =>
  ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default', uid: `uid-${name}` }, spec }) as unknown as KubeObject;

const pod = (name: string, over: Partial<PodState> = {}): PodState => ({
  namespace: 'default', name, deployment: 'myapp', templateHash: 'h', labels: { app: 'myapp' }, version: 'v1',
  node: 'node1', ip: `10.244.1.${name.length + 10}`, netns: `ns-${name}`, hostIf: 'p1', index: 1, log: '/dev/null',
  ready: true, phase: 'Running', ...over,
} as PodState);

describe('allocateService', () => {
  it('gives a ClusterIP and node ports the way the API server would, keeping what is set', () => {
    const taken = allocateService(svc('a', { ports: [{ port: 80 }] }), []);
    const second = allocateService(svc('b', { type: 'NodePort', ports: [{ port: 80 }, { port: 81, nodePort: 30000 }] }), [taken]);
    // 10.96.0.10 is kept for the cluster DNS (kube-dns.yaml asks for it), as kubeadm does.
    expect((taken.spec as { clusterIP: string }).clusterIP).toBe('10.96.0.11');
    expect((second.spec as { clusterIP: string }).clusterIP).toBe('10.96.0.12');
    expect((second.spec as { ports: Array<{ nodePort: number }> }).ports.map((p) => p.nodePort)).toEqual([30001, 30000]);
  });

  it('leaves ExternalName without a ClusterIP, and an update keeps its old addresses', () => {
    expect((allocateService(svc('alias', { type: 'ExternalName', externalName: 'x' }), []).spec as { clusterIP?: string }).clusterIP).toBeUndefined();
    const first = allocateService(svc('n', { type: 'NodePort', ports: [{ port: 80 }] }), []);
    const again = allocateService(svc('n', { type: 'NodePort', ports: [{ port: 80 }] }), [first]);
    expect(again.spec).toEqual(first.spec);
  });
});

describe('desiredSlices (the lab\'s EndpointSlice controller)', () => {
  const web = svc('web', { selector: { app: 'myapp' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] });

  it('puts selected pods in the slice with named targetPorts resolved and conditions set', () => {
    const [slice] = desiredSlices([web], [pod('b'), pod('aa', { ready: false }), pod('other', { labels: { app: 'x' } })]);
    expect(slice.metadata.labels).toMatchObject({ 'kubernetes.io/service-name': 'web' });
    expect((slice as unknown as { ports: unknown[] }).ports).toEqual([{ name: 'http', port: 80, protocol: 'TCP' }]);
    const eps = (slice as unknown as { endpoints: Array<{ targetRef: { name: string }; conditions: { ready: boolean } }> }).endpoints;
    expect(eps.map((e) => [e.targetRef.name, e.conditions.ready])).toEqual([['aa', false], ['b', true]]);
  });

  it('keeps a terminating pod as serving but not ready, and labels headless slices', () => {
    const headless = svc('hl', { clusterIP: 'None', selector: { app: 'myapp' }, ports: [{ port: 80 }] });
    const [s1, s2] = desiredSlices([web, headless], [pod('t', { phase: 'Terminating' } as Partial<PodState>)]);
    expect((s1 as unknown as { endpoints: Array<{ conditions: object }> }).endpoints[0].conditions).toEqual({ ready: false, serving: true, terminating: true });
    expect(s2.metadata.labels).toHaveProperty('service.kubernetes.io/headless');
  });
});
