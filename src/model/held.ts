// An object as an informer holds it once the model has read it: the parse result (the model's
// Service or EndpointSlice, or the problems that rejected it), not the wire object. The informers
// keep every Service and EndpointSlice for the agent's life, and the model reads each one anyway;
// holding the wire object too was a second copy of every endpoint (at 10,000 Services × 10
// endpoints, ~11 MiB of wire endpoints and their `addresses` arrays beside the model's 6 MiB).
//
// The parse is a pure function of the object and its origin, so the held result is what a fresh
// parse would give: buildModel and the tracker take it instead of parsing again, and a full
// resync (a relist, the periodic check) costs no parse at all. The key is a symbol, which no
// JSON (a manifest, an API response) can carry, so only this module's holdParsed makes one.
import type { FieldProblem } from './check.js';
import { parseEndpointSlice } from './endpointslice.js';
import { parseService, type ParseResult } from './service.js';
import type { EndpointSlice, Service } from './types.js';

const VALUE = Symbol('switchyard: the model object');
const REJECTED = Symbol('switchyard: the parse that rejected or skipped it');

/** What is held: the resourceVersion the informer compares a relisted object with, and the model
 *  object, or for an object the model did not take, its whole parse result. A valid object's
 *  result is not kept as such: it would be two more objects (the result, its empty problems) for
 *  each of 20,000 objects at 10,000 Services, and heldResult makes it again from the value. */
interface Held {
  metadata: { resourceVersion?: unknown };
  [VALUE]?: Service | EndpointSlice;
  [REJECTED]?: ParseResult<unknown>;
}

/** The kinds whose informers hold parse results (a Node is one object: the wire form stays). */
export type HeldKind = 'Service' | 'EndpointSlice';

/** @object (plain JSON of @kind, from @origin) read by the model, as an informer should hold it. */
export function holdParsed(kind: HeldKind, object: Record<string, unknown>, origin: string): Record<string, unknown> {
  const result = kind === 'Service' ? parseService(object, origin) : parseEndpointSlice(object, origin);
  const meta = object.metadata as { resourceVersion?: unknown } | undefined;
  const metadata = { resourceVersion: meta?.resourceVersion };
  // The symbol in the literal: added afterwards it went to a separate properties array, 32 bytes
  // more for each of 20,000 held objects at 10,000 Services.
  const held: Held =
    result.value && result.problems.length === 0
      ? { metadata, [VALUE]: result.value }
      : { metadata, [REJECTED]: result };
  return held as unknown as Record<string, unknown>;
}

const NO_PROBLEMS: readonly FieldProblem[] = Object.freeze([]);

/** The parse result @input holds, when holdParsed made it; undefined for any other object. */
export function heldResult<T>(input: unknown): ParseResult<T> | undefined {
  if (typeof input !== 'object' || input === null) return undefined;
  const held = input as Held;
  const value = held[VALUE];
  if (value)
    return { value: value as T, namespace: value.namespace, name: value.name, problems: NO_PROBLEMS as FieldProblem[] };
  return held[REJECTED] as ParseResult<T> | undefined;
}
