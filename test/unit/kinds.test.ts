// The kind table is shared by the informers, the lab's client and the double: a path built from it
// must route back to the same kind, namespace and name in the double.
import { describe, expect, it } from 'vitest';
import { API_KINDS, KINDS, apiPath, isApiKind } from '../../src/model/kinds.js';
import { parseRoute } from '../../src/fakeapi/http.js';

describe('kinds', () => {
  it('builds the REST paths kubectl uses', () => {
    expect(apiPath('Service')).toBe('/api/v1/services');
    expect(apiPath('EndpointSlice', 'prod', 'web-abc')).toBe(
      '/apis/discovery.k8s.io/v1/namespaces/prod/endpointslices/web-abc',
    );
    // Nodes are cluster-scoped: a namespace is dropped, not put into the path.
    expect(apiPath('Node', 'default', 'node1')).toBe('/api/v1/nodes/node1');
    expect(apiPath('Service', 'a b', 'x/y')).toBe('/api/v1/namespaces/a%20b/services/x%2Fy');
  });

  it('routes every path it builds back to the same kind in the double', () => {
    for (const kind of API_KINDS) {
      const ns = KINDS[kind].namespaced ? 'team-a' : undefined;
      expect(parseRoute(apiPath(kind))).toEqual({ kind, namespace: undefined, name: undefined });
      expect(parseRoute(apiPath(kind, ns, 'obj-1'))).toEqual({ kind, namespace: ns, name: 'obj-1' });
    }
  });

  it('knows only the kinds it lists', () => {
    expect(API_KINDS.every(isApiKind)).toBe(true);
    expect(isApiKind('Deployment')).toBe(false);
    expect(isApiKind('toString')).toBe(false);
  });
});
