// The model shares what thousands of objects repeat (port lists, empty labels), frozen so that
// no holder can change it under the others, and never shares what differs.
import { describe, expect, it } from 'vitest';
import { parseEndpointSlice, parseService, type EndpointSlice, type Service } from '../../src/model/index.js';

type Obj = Record<string, unknown>;

const service = (name: string, ports: Obj[], labels?: Obj): Service => {
  const meta = { name, namespace: 'default', ...(labels && { labels }) };
  const raw = { apiVersion: 'v1', kind: 'Service', metadata: meta, spec: { clusterIP: '10.96.0.10', ports } };
  const r = parseService(raw, 'test');
  expect(r.problems).toEqual([]);
  return r.value!;
};

const slice = (name: string, ports: Obj[]): EndpointSlice => {
  const raw = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, namespace: 'default', labels: { 'kubernetes.io/service-name': name } },
    addressType: 'IPv4',
    ports,
    endpoints: [{ addresses: ['10.244.0.1'] }],
  };
  const r = parseEndpointSlice(raw, 'test');
  expect(r.problems).toEqual([]);
  return r.value!;
};

describe('shared model values', () => {
  it('gives Services with the same ports one frozen list, and others their own', () => {
    const a = service('a', [{ name: 'http', port: 80, targetPort: 8080 }]);
    const b = service('b', [{ name: 'http', port: 80, targetPort: 8080 }]);
    const c = service('c', [{ name: 'http', port: 80, targetPort: 8081 }]);
    expect(b.ports).toBe(a.ports);
    expect(c.ports).not.toBe(a.ports);
    expect(c.ports[0]!.targetPort).toBe(8081);
    expect(Object.isFrozen(a.ports) && Object.isFrozen(a.ports[0])).toBe(true);
    expect(() => (a.ports[0] as { port: number }).port++).toThrow(TypeError);
  });

  it('gives slices with the same ports one frozen list, and others their own', () => {
    const a = slice('a', [{ name: 'http', port: 8080, protocol: 'TCP' }]);
    const b = slice('b', [{ name: 'http', port: 8080, protocol: 'TCP' }]);
    const c = slice('c', [{ name: 'http', port: 8080, protocol: 'UDP' }]);
    expect(b.ports).toBe(a.ports);
    expect(c.ports).not.toBe(a.ports);
    expect(c.ports).toEqual([{ name: 'http', port: 8080, protocol: 'UDP' }]);
  });

  it('shares the empty labels only', () => {
    const a = service('a', [{ port: 80 }]);
    const b = service('b', [{ port: 80 }]);
    const c = service('c', [{ port: 80 }], { app: 'c' });
    expect(b.labels).toBe(a.labels);
    expect(a.labels).toEqual({});
    expect(c.labels).toEqual({ app: 'c' });
  });
});
