// The objects the scale benches build: scale.mjs and scale-list.mjs preload the API double with
// them (apiState), scale-pipeline.mjs and scale-churn-memory.mjs hold them in-process. Service i
// has one port and an EndpointSlice of 10 endpoints on two nodes; in version v (≥ 0) endpoint 0
// is swapped for another address: one endpoint change.
import { sliceEndpoint } from './scale-put.mjs';
export const vipOf = (i) => `10.${96 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
export const endpoint = (i, e, v) =>
  `10.${64 + ((i >> 8) & 127)}.${i & 255}.${e === 0 && v !== undefined ? 100 + v : e + 1}`;

export const sliceObject = (i, v) => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  addressType: 'IPv4',
  metadata: { name: `svc${i}-1`, namespace: 'default', labels: { 'kubernetes.io/service-name': `svc${i}` } },
  ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  endpoints: Array.from({ length: 10 }, (_, e) => ({
    addresses: [endpoint(i, e, v)],
    conditions: { ready: true, serving: true, terminating: false },
    nodeName: e % 2 ? 'node1' : 'node2',
  })),
});

export const serviceObject = (i) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: `svc${i}`, namespace: 'default' },
  spec: {
    type: 'ClusterIP',
    clusterIP: vipOf(i),
    ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }],
  },
});

/** The API double's preload for bench/scale.mjs and scale-list.mjs: the Node, and @n Services
 *  with their slices, each endpoint as the EndpointSlice controller writes it (serving,
 *  terminating, a targetRef: sliceEndpoint). */
export function apiState(n) {
  const objects = [{ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node1' } }];
  for (let i = 0; i < n; i++) {
    const slice = sliceObject(i);
    slice.endpoints = slice.endpoints.map((ep, e) => sliceEndpoint(i, e, ep.addresses[0]));
    objects.push(serviceObject(i), slice);
  }
  return objects;
}
