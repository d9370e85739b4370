// The informers hold every Service, EndpointSlice and the Node for the agent's life, so each wire
// object is cut, as soon as it is parsed and before any cache holds it, to the fields something
// downstream reads (the model, nodeEligible, the informer's resourceVersion check). In a real
// cluster most of an object's bytes are ones we never read: each endpoint's targetRef (a Pod's
// kind, name, namespace and uid: ~100,000 of them at 10,000 Services × 10 endpoints), kubectl's
// last-applied-configuration annotation (a second copy of the whole object), uid, managedFields,
// ownerReferences, and a Node's images, conditions and capacity.
//
// Only keys of plain objects are removed; a field of the wrong type is left for the model to
// report by name, so a malformed object gets the same error it would get untrimmed.
import type { KindSpec } from './normalize.js';

const METADATA_KEPT = new Set([
  'name',
  'namespace',
  'labels',
  'annotations',
  'resourceVersion',
  'creationTimestamp',
  'deletionTimestamp',
]);
/** Read by nothing, and often the largest field of an object kubectl applied. */
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
/** Per endpoint: what the model reads (addresses, conditions, nodeName, zone, hints). */
const ENDPOINT_DROPPED = ['targetRef', 'hostname', 'deprecatedTopology'];

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Removes, in place, the fields of a freshly parsed wire object that nothing reads; returns it. */
export function trimWire<T>(obj: T, kind: KindSpec['kind']): T {
  if (!isObject(obj)) return obj;
  const meta = obj.metadata;
  if (isObject(meta)) {
    for (const k of Object.keys(meta)) if (!METADATA_KEPT.has(k)) delete meta[k];
    const ann = meta.annotations;
    if (isObject(ann) && typeof ann[LAST_APPLIED] === 'string') delete ann[LAST_APPLIED];
  }
  if (kind === 'EndpointSlice' && Array.isArray(obj.endpoints)) {
    for (const e of obj.endpoints) if (isObject(e)) for (const k of ENDPOINT_DROPPED) delete e[k];
  }
  if (kind === 'Node' && isObject(obj.status)) {
    // parseNode reads status.addresses only (nodeEligible reads spec and metadata).
    for (const k of Object.keys(obj.status)) if (k !== 'addresses') delete obj.status[k];
  }
  return obj;
}
