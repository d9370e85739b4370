// The lab's stand-ins for Kubernetes controllers: the API server's allocators and the
// EndpointSlice controller, as pure functions.
import { describe, expect, it } from 'vitest';
import { allocateService, desiredSlices } from '../../src/lab/lab-objects.js';
import type { KubeObject } from '../../src/fakeapi/server.js';
import type { PodState } from '../../src/lab/lab-state.js';

const svc = (name: string, spec: Record<string, unknown>) =>
  ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'default', uid: `uid-${name}` },
    spec,
  }) as unknown as KubeObject;

const pod = (name: string, over: Partial<PodState> = {}): PodState =>
  ({
    namespace: 'default',
    name,
    deployment: 'myapp',
    templateHash: 'h',
    labels: { app: 'myapp' },
    version: 'v1',
    node: 'node1',
    ip: `10.244.1.${name.length + 10}`,
    netns: `ns-${name}`,
    hostIf: 'p1',
    index: 1,
    log: '/dev/null',
    ready: true,
    phase: 'Running',
    ...over,
  }) as PodState;

describe('allocateService', () => {
  it('gives a ClusterIP and node ports the way the API server would, keeping what is set', () => {
    const taken = allocateService(svc('a', { ports: [{ port: 80 }] }), []);
    const second = allocateService(
      svc('b', { type: 'NodePort', ports: [{ port: 80 }, { port: 81, nodePort: 30000 }] }),
      [taken],
    );
    // 10.96.0.10 is kept for the cluster DNS (kube-dns.yaml asks for it), as kubeadm does.
    expect((taken.spec as { clusterIP: string }).clusterIP).toBe('10.96.0.11');
    expect((second.spec as { clusterIP: string }).clusterIP).toBe('10.96.0.12');
    expect((second.spec as { ports: Array<{ nodePort: number }> }).ports.map((p) => p.nodePort)).toEqual([
      30001, 30000,
    ]);
  });

  it('leaves ExternalName without a ClusterIP, and an update keeps its old addresses', () => {
    expect(
      (allocateService(svc('alias', { type: 'ExternalName', externalName: 'x' }), []).spec as { clusterIP?: string })
        .clusterIP,
    ).toBeUndefined();
    const first = allocateService(svc('n', { type: 'NodePort', ports: [{ port: 80 }] }), []);
    const again = allocateService(svc('n', { type: 'NodePort', ports: [{ port: 80 }] }), [first]);
    expect(again.spec).toEqual(first.spec);
  });
});

describe("desiredSlices (the lab's EndpointSlice controller)", () => {
  const web = svc('web', { selector: { app: 'myapp' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] });

  it('puts selected pods in the slice with named targetPorts resolved and conditions set', () => {
    const [slice] = desiredSlices(
      [web],
      [pod('b'), pod('aa', { ready: false }), pod('other', { labels: { app: 'x' } })],
    );
    expect(slice.metadata.labels).toMatchObject({ 'kubernetes.io/service-name': 'web' });
    expect((slice as unknown as { ports: unknown[] }).ports).toEqual([{ name: 'http', port: 80, protocol: 'TCP' }]);
    const eps = (
      slice as unknown as { endpoints: Array<{ targetRef: { name: string }; conditions: { ready: boolean } }> }
    ).endpoints;
    expect(eps.map((e) => [e.targetRef.name, e.conditions.ready])).toEqual([
      ['aa', false],
      ['b', true],
    ]);
  });

  it('keeps a terminating pod as serving but not ready, and labels headless slices', () => {
    const headless = svc('hl', { clusterIP: 'None', selector: { app: 'myapp' }, ports: [{ port: 80 }] });
    const [s1, s2] = desiredSlices([web, headless], [pod('t', { phase: 'Terminating' } as Partial<PodState>)]);
    expect((s1 as unknown as { endpoints: Array<{ conditions: object }> }).endpoints[0].conditions).toEqual({
      ready: false,
      serving: true,
      terminating: true,
    });
    expect(s2.metadata.labels).toHaveProperty('service.kubernetes.io/headless');
  });
});

describe('desiredSlices: zones and trafficDistribution hints (as the Kubernetes controller writes them)', () => {
  const zones = { node1: 'zone-a', node2: 'zone-b' };
  const pods = [pod('a', { node: 'node1' }), pod('bb', { node: 'node2' })];
  type Ep = { zone?: string; nodeName: string; hints?: unknown };
  const endpointsOf = (spec: Record<string, unknown>, z: Record<string, string> = zones) =>
    (
      desiredSlices(
        [svc('web', { selector: { app: 'myapp' }, ports: [{ port: 80 }], ...spec })],
        pods,
        z,
      )[0] as unknown as { endpoints: Ep[] }
    ).endpoints;

  it("sets each endpoint's zone, and no hints without trafficDistribution", () => {
    expect(endpointsOf({}).map((e) => [e.zone, e.hints])).toEqual([
      ['zone-a', undefined],
      ['zone-b', undefined],
    ]);
  });

  for (const td of ['PreferClose', 'PreferSameZone']) {
    it(`${td}: each endpoint hinted for its own zone`, () => {
      expect(endpointsOf({ trafficDistribution: td }).map((e) => e.hints)).toEqual([
        { forZones: [{ name: 'zone-a' }] },
        { forZones: [{ name: 'zone-b' }] },
      ]);
    });
  }

  it('PreferSameNode: hinted for its own node, and its zone as the fallback', () => {
    expect(endpointsOf({ trafficDistribution: 'PreferSameNode' }).map((e) => e.hints)).toEqual([
      { forZones: [{ name: 'zone-a' }], forNodes: [{ name: 'node1' }] },
      { forZones: [{ name: 'zone-b' }], forNodes: [{ name: 'node2' }] },
    ]);
  });

  it('an endpoint without a zone: no zone hints for any endpoint', () => {
    expect(endpointsOf({ trafficDistribution: 'PreferClose' }, { node1: 'zone-a' }).map((e) => e.hints)).toEqual([
      undefined,
      undefined,
    ]);
  });
});
