// The edge where API objects become the plain JSON the model reads: the same shape a YAML
// manifest gives (apiVersion and kind set — list items come without them), with no class
// instances or Dates left, and without metadata.managedFields, which nothing downstream reads
// and which can be most of an object's bytes.

export interface KindSpec {
  kind: 'Service' | 'EndpointSlice' | 'Node';
  apiVersion: string;
}

/** True when `v` is JSON already: primitives, plain objects and arrays all the way down. */
function isPlainJson(v: unknown): boolean {
  if (v === null || typeof v !== 'object') return typeof v !== 'function' && typeof v !== 'bigint';
  const proto = Object.getPrototypeOf(v);
  if (Array.isArray(v)) return proto === Array.prototype && v.every(isPlainJson);
  if (proto !== Object.prototype && proto !== null) return false;
  for (const k in v) if (!isPlainJson((v as Record<string, unknown>)[k])) return false;
  return true;
}

/**
 * Wire JSON (what listRaw and the watch hand over) is not copied: the result shares its nested
 * objects with the input, so each object is held once, not twice (at 10,000 Services that
 * second copy was tens of MiB, and the copying a good part of the list's time). Nothing
 * downstream ever writes into them (trim.ts even shares some between objects); the top level
 * and metadata are new objects, so the input itself is left as it was. Anything else (class
 * instances, Dates) goes through a JSON round trip.
 */
export function toPlain(obj: unknown, spec: KindSpec, fromWire = false): Record<string, unknown> {
  // @fromWire: @obj came out of JSON.parse (listRaw, the watch), so it is JSON all the way down;
  // walking 10,000 slices to prove it again was ~100 ms of the cold start.
  const json = (fromWire || isPlainJson(obj) ? obj : JSON.parse(JSON.stringify(obj))) as Record<string, unknown>;
  const { apiVersion: _a, kind: _k, ...rest } = json;
  const meta = rest.metadata;
  if (meta && typeof meta === 'object' && 'managedFields' in meta) {
    const { managedFields: _m, ...kept } = meta as Record<string, unknown>;
    rest.metadata = kept;
  }
  return { apiVersion: spec.apiVersion, kind: spec.kind, ...rest };
}

/** namespace/name, the store key (cluster-scoped objects: "/name"). */
export function objectKey(obj: { metadata?: { namespace?: string; name?: string } }): string {
  // Joined flat: a template literal leaves a rope of cons strings, and these are the informers'
  // long-lived map keys (20,000 at 10,000 Services: ~1.3 MiB of ropes).
  return [obj.metadata?.namespace ?? '', '/', obj.metadata?.name ?? ''].join('');
}
