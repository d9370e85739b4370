// The `kubernetes` Service as the API server keeps it in a real cluster: default/kubernetes,
// ClusterIP 10.96.0.1 (the first address of the service range, kubeadm's layout), port 443
// ("https") → the API server on the control-plane node's address. It has no selector: the API
// server writes its slice itself (managed by "kube-apiserver"), so the lab's EndpointSlice
// controller leaves it alone. The lab's API double speaks plain HTTP on that port.
import type { KubeObject } from '../fakeapi/server.js';

export const KUBERNETES_CLUSTER_IP = '10.96.0.1';
export const KUBERNETES_PORT = 443;

export function kubernetesService(targetPort: number): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'kubernetes', namespace: 'default', labels: { component: 'apiserver', provider: 'kubernetes' } },
    spec: {
      type: 'ClusterIP',
      clusterIP: KUBERNETES_CLUSTER_IP,
      clusterIPs: [KUBERNETES_CLUSTER_IP],
      ports: [{ name: 'https', port: KUBERNETES_PORT, protocol: 'TCP', targetPort }],
    },
  };
}

/** The slice naming the API server's address and port, on `node`. */
export function kubernetesSlice(node: string, address: string, port: number): KubeObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: 'kubernetes',
      namespace: 'default',
      labels: {
        'kubernetes.io/service-name': 'kubernetes',
        'endpointslice.kubernetes.io/managed-by': 'kube-apiserver',
      },
    },
    addressType: 'IPv4',
    endpoints: [
      { addresses: [address], nodeName: node, conditions: { ready: true, serving: true, terminating: false } },
    ],
    ports: [{ name: 'https', port, protocol: 'TCP' }],
  };
}
