// The Kubernetes kinds Switchyard reads, and where the API serves them. One table for the three
// parties that speak the REST paths: the agent's informers (src/k8s), the API-server double
// (src/fakeapi) and the lab's client (src/lab/lab-api.ts). It imports nothing, so any layer may
// use it without pulling in another.

export type ApiKind = 'Service' | 'Endpoints' | 'EndpointSlice' | 'Node' | 'Pod';

export interface KindInfo {
  kind: ApiKind;
  listKind: string;
  apiVersion: string;
  /** URL prefix of the group/version: /api/v1 or /apis/<group>/<version>. */
  prefix: string;
  plural: string;
  namespaced: boolean;
}

export const KINDS: Readonly<Record<ApiKind, KindInfo>> = {
  Service: {
    kind: 'Service',
    listKind: 'ServiceList',
    apiVersion: 'v1',
    prefix: '/api/v1',
    plural: 'services',
    namespaced: true,
  },
  // Read by the lab and the manifest source only, to mirror into EndpointSlices (mirror.ts): the agent never watches it.
  Endpoints: {
    kind: 'Endpoints',
    listKind: 'EndpointsList',
    apiVersion: 'v1',
    prefix: '/api/v1',
    plural: 'endpoints',
    namespaced: true,
  },
  EndpointSlice: {
    kind: 'EndpointSlice',
    listKind: 'EndpointSliceList',
    apiVersion: 'discovery.k8s.io/v1',
    prefix: '/apis/discovery.k8s.io/v1',
    plural: 'endpointslices',
    namespaced: true,
  },
  Node: { kind: 'Node', listKind: 'NodeList', apiVersion: 'v1', prefix: '/api/v1', plural: 'nodes', namespaced: false },
  // Read only by `switchyard diagnose` on a node (does the selector match pods?); the agent never watches it.
  Pod: { kind: 'Pod', listKind: 'PodList', apiVersion: 'v1', prefix: '/api/v1', plural: 'pods', namespaced: true },
};

export const API_KINDS = Object.keys(KINDS) as ApiKind[];

export function isApiKind(kind: unknown): kind is ApiKind {
  return typeof kind === 'string' && Object.hasOwn(KINDS, kind);
}

/**
 * The REST path of a kind: the collection across namespaces (no namespace, no name), the
 * collection of one namespace, or one object. A namespace given for a cluster-scoped kind
 * (Node) is dropped, as kubectl does.
 */
export function apiPath(kind: ApiKind, namespace?: string, name?: string): string {
  const { prefix, plural, namespaced } = KINDS[kind];
  const ns = namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${prefix}${ns}/${plural}${name ? `/${encodeURIComponent(name)}` : ''}`;
}
