// trimWire: the informers keep only the fields something reads, and the model sees the same thing.
import { describe, expect, it } from 'vitest';
import { trimWire } from '../../src/k8s/trim.js';
import { buildModel } from '../../src/model/index.js';
import { nodeEligible } from '../../src/agent/health.js';

type Obj = Record<string, any>;
const at = (object: Obj) => ({ object, origin: 'apiserver' });

/** As a real API server sends a slice: every endpoint with a targetRef, metadata full of extras. */
const slice = (): Obj => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  addressType: 'IPv4',
  metadata: {
    name: 'web-abc',
    namespace: 'default',
    uid: '6f56ad8d-7260-4188-8209-6ac744844bc7',
    generation: 3,
    resourceVersion: '42',
    labels: { 'kubernetes.io/service-name': 'web' },
    annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': '2024-01-02T03:04:05Z' },
    ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: 'web', uid: 'x' }],
    managedFields: [{ manager: 'kube-controller-manager' }],
  },
  ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  endpoints: [
    {
      addresses: ['10.244.1.11'],
      conditions: { ready: true, serving: true, terminating: false },
      nodeName: 'node1',
      zone: 'a',
      hostname: 'web-0',
      targetRef: { kind: 'Pod', name: 'web-0', namespace: 'default', uid: 'y' },
    },
  ],
});

const service = (): Obj => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: {
    name: 'web',
    namespace: 'default',
    uid: 'z',
    creationTimestamp: '2024-01-01T00:00:00Z',
    annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"a whole":"copy"}', keep: 'me' },
  },
  spec: { clusterIP: '10.96.0.10', ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
});

describe('trimWire', () => {
  it('drops what nothing reads, and the model builds the same Services and slices from the rest', () => {
    const full = buildModel({ services: [at(service())], endpointSlices: [at(slice())], nodes: [], errors: [] });
    const s = trimWire(slice(), 'EndpointSlice');
    const v = trimWire(service(), 'Service');
    expect(s.metadata).toEqual({
      name: 'web-abc',
      namespace: 'default',
      resourceVersion: '42',
      labels: { 'kubernetes.io/service-name': 'web' },
      annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': '2024-01-02T03:04:05Z' },
    });
    expect(s.endpoints[0]).toEqual({
      addresses: ['10.244.1.11'],
      conditions: { ready: true, serving: true, terminating: false },
      nodeName: 'node1',
      zone: 'a',
    });
    expect(v.metadata.annotations).toEqual({ keep: 'me' });
    const trimmed = buildModel({ services: [at(v)], endpointSlices: [at(s)], nodes: [], errors: [] });
    expect(trimmed.errors).toEqual([]);
    expect(trimmed.model).toEqual(full.model);
  });

  it('shares the conditions objects the controller writes (frozen), and keeps any other shape as it came', () => {
    const a = trimWire(slice(), 'EndpointSlice');
    const b = slice();
    b.endpoints.push(
      { addresses: ['10.244.1.12'], conditions: { ready: false, serving: true, terminating: true } },
      { addresses: ['10.244.1.13'], conditions: { ready: true } },
      { addresses: ['10.244.1.14'], conditions: { ready: 'yes', serving: true, terminating: false } },
    );
    const sent = b.endpoints.map((e: Obj) => e.conditions);
    const [same, other, partial, odd] = trimWire(b, 'EndpointSlice').endpoints;
    expect(same.conditions).toBe(a.endpoints[0].conditions);
    expect(Object.isFrozen(same.conditions)).toBe(true);
    expect(other.conditions).toEqual({ ready: false, serving: true, terminating: true });
    expect(other.conditions).not.toBe(sent[1]);
    expect(partial.conditions).toBe(sent[2]);
    expect(odd.conditions).toBe(sent[3]); // the model reports it by name
    expect(same.nodeName).toBe('node1');
  });

  it('leaves malformed fields alone, so the model still names them', () => {
    const bad = slice();
    bad.endpoints.push('not an endpoint');
    bad.metadata.labels = 'not a map';
    const { errors } = buildModel({
      services: [],
      endpointSlices: [at(trimWire(bad, 'EndpointSlice'))],
      nodes: [],
      errors: [],
    });
    expect(errors.map((e) => e.field)).toEqual(expect.arrayContaining(['metadata.labels', 'endpoints[1]']));
  });

  it('keeps of a Node its addresses, taints and deletion mark, not its images or conditions', () => {
    const node = trimWire(
      {
        metadata: { name: 'node1', uid: 'n', deletionTimestamp: '2024-01-01T00:00:00Z' },
        spec: { taints: [{ key: 'ToBeDeletedByClusterAutoscaler' }] },
        status: {
          addresses: [{ type: 'InternalIP', address: '10.0.0.1' }],
          images: [{ names: ['a'], sizeBytes: 1 }],
          conditions: [{ type: 'Ready' }],
        },
      },
      'Node',
    );
    expect(node.status).toEqual({ addresses: [{ type: 'InternalIP', address: '10.0.0.1' }] });
    expect(nodeEligible(node)).toBe(false);
    expect(trimWire('not an object', 'Node')).toBe('not an object');
  });
});
