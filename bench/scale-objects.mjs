// The objects the in-process scale benches build (scale-pipeline.mjs, scale-churn-memory.mjs):
// Service i with one port, and its EndpointSlice of 10 endpoints on two nodes. In version v
// (≥ 0) endpoint 0 is swapped for another address: one endpoint change.
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
