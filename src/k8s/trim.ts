// The informers hold their objects for the agent's life, so each wire object is cut, as soon as it
// is parsed and before any cache holds it, to the fields something downstream reads (the model,
// nodeEligible, the informer's resourceVersion check). The agent's Service and EndpointSlice
// informers hold the model's parse instead (src/model/held.ts, a ResourceSpec's hold): this cut
// serves the Node informer and any informer without hold. In a real cluster most of an object's
// bytes are ones we never read: each endpoint's targetRef (a Pod's kind, name, namespace and uid),
// kubectl's last-applied-configuration annotation (a second copy of the whole object), uid,
// managedFields, ownerReferences, and a Node's images, conditions and capacity.
//
// Only keys of plain objects are removed; a field of the wrong type is left for the model to
// report by name, so a malformed object gets the same error it would get untrimmed.
import { sharedName as shared } from '../util/shared-names.js';
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

/** @o without the keys @keep refuses, as a new object: `delete` would turn each of 100,000
 *  endpoints into a dictionary-mode object, larger than the fields it removed. */
function pick(o: Record<string, unknown>, keep: (k: string) => boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o)) if (keep(k)) out[k] = o[k];
  return out;
}

const DROPPED = new Set(ENDPOINT_DROPPED);

/**
 * An endpoint's `conditions` as the EndpointSlice controller writes them ({ready, serving,
 * terminating}, three booleans): eight possible objects, made once, frozen, and shared by every
 * endpoint that has one of them; at 100,000 endpoints one object each was ~4.5 MiB. Any other
 * shape (a key missing or added, a value not a boolean) is kept as it came.
 */
const CONDITIONS = Array.from({ length: 8 }, (_, i) =>
  Object.freeze({ ready: (i & 1) !== 0, serving: (i & 2) !== 0, terminating: (i & 4) !== 0 }),
);
function sharedConditions(c: unknown): unknown {
  if (!isObject(c)) return c;
  const { ready, serving, terminating } = c;
  if (typeof ready !== 'boolean' || typeof serving !== 'boolean' || typeof terminating !== 'boolean') return c;
  if (Object.keys(c).length !== 3) return c;
  return CONDITIONS[(ready ? 1 : 0) | (serving ? 2 : 0) | (terminating ? 4 : 0)];
}

/** A node or zone name as the one shared string (src/util/shared-names.ts); anything else as is. */
const sharedName = (v: unknown): unknown => (typeof v === 'string' ? shared(v) : v);

/** An endpoint as the informers keep it: what is read, with its repeated parts shared. */
function endpoint(e: unknown): unknown {
  if (!isObject(e)) return e;
  const out = pick(e, (k) => !DROPPED.has(k));
  if ('conditions' in out) out.conditions = sharedConditions(out.conditions);
  if ('nodeName' in out) out.nodeName = sharedName(out.nodeName);
  if ('zone' in out) out.zone = sharedName(out.zone);
  return out;
}

/** Cuts a freshly parsed wire object, in place, to the fields something reads; returns it. */
export function trimWire<T>(input: T, kind: KindSpec['kind']): T {
  if (!isObject(input)) return input;
  const obj: Record<string, unknown> = input;
  const meta = obj.metadata;
  if (isObject(meta)) {
    const kept = pick(meta, (k) => METADATA_KEPT.has(k));
    const ann = kept.annotations;
    if (isObject(ann) && typeof ann[LAST_APPLIED] === 'string') kept.annotations = pick(ann, (k) => k !== LAST_APPLIED);
    obj.metadata = kept;
  }
  if (kind === 'EndpointSlice' && Array.isArray(obj.endpoints)) {
    obj.endpoints = obj.endpoints.map(endpoint);
  }
  if (kind === 'Node' && isObject(obj.status)) {
    // parseNode reads status.addresses only (nodeEligible reads spec and metadata).
    obj.status = pick(obj.status, (k) => k === 'addresses');
  }
  return input;
}
