// The edge where API objects become the plain JSON the model reads: the same shape a YAML
// manifest gives (apiVersion and kind set — list items come without them), a deep copy with no
// class instances or Dates left, and without metadata.managedFields, which nothing downstream
// reads and which can be most of an object's bytes.

export interface KindSpec {
  kind: 'Service' | 'EndpointSlice' | 'Node';
  apiVersion: string;
}

export function toPlain(obj: unknown, spec: KindSpec): Record<string, unknown> {
  // JSON round trip: a deep copy, and Dates (should a class instance ever get here) → strings.
  const copy = JSON.parse(JSON.stringify(obj)) as Record<string, unknown>;
  const { apiVersion: _a, kind: _k, ...rest } = copy;
  const meta = rest.metadata as Record<string, unknown> | undefined;
  if (meta && typeof meta === 'object') delete meta.managedFields;
  return { apiVersion: spec.apiVersion, kind: spec.kind, ...rest };
}

/** namespace/name, the store key (cluster-scoped objects: "/name"). */
export function objectKey(obj: { metadata?: { namespace?: string; name?: string } }): string {
  return `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
}
