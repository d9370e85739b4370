// An object as an informer holds it once the model has read it: the parse result (the model's
// Service or EndpointSlice, or the problems that rejected it), not the wire object. The informers
// keep every Service and EndpointSlice for the agent's life, and the model reads each one anyway;
// holding the wire object too was a second copy of every endpoint (at 10,000 Services × 10
// endpoints, ~11 MiB of wire endpoints and their `addresses` arrays beside the model's 6 MiB).
//
// The parse is a pure function of the object and its origin, so the held result is what a fresh
// parse would give: buildModel and the tracker take it instead of parsing again, and a full
// resync (a relist, the periodic check) costs no parse at all. A held object is an instance of
// this module's class, which no JSON (a manifest, an API response) can make: only holdParsed does.
import type { FieldProblem } from './check.js';
import { parseEndpointSlice } from './endpointslice.js';
import { parseService, type ParseResult } from './service.js';
import type { EndpointSlice, Service } from './types.js';

/**
 * What is held: the resourceVersion the informer compares a relisted object with (as
 * `metadata.resourceVersion`, made when read), and the model object, or for an object the model
 * did not take, its whole parse result. One object of two fields each: a wire-shaped
 * {metadata: {resourceVersion}} was two objects, and the version a string, for each of 20,000
 * objects at 10,000 Services (~1 MiB). A version in canonical decimal is kept as a number. The
 * fields are private, so JSON (logs, dumps) shows none of the model through them; a valid
 * object's result is not kept as such: heldResult makes it again from the value.
 */
class Held {
  readonly #version: string | number | undefined;
  /** The model object, or the parse result that rejected or skipped the object (which has
   *  `problems`, as no model object does). */
  readonly #held: Service | EndpointSlice | ParseResult<unknown>;

  constructor(version: unknown, result: ParseResult<Service | EndpointSlice>) {
    this.#version = typeof version === 'string' ? compactVersion(version) : undefined;
    this.#held = result.value !== undefined && result.problems.length === 0 ? result.value : result;
  }

  get metadata(): { resourceVersion?: string } {
    const v = this.#version;
    return v === undefined ? {} : { resourceVersion: typeof v === 'number' ? String(v) : v };
  }

  /** In JSON (a dump of what an informer holds): the version only, as the wire object had it. */
  toJSON(): { metadata: { resourceVersion?: string } } {
    return { metadata: this.metadata };
  }

  result<T>(): ParseResult<T> {
    if ('problems' in this.#held) return this.#held as ParseResult<T>;
    const value = this.#held;
    return { value: value as T, namespace: value.namespace, name: value.name, problems: NO_PROBLEMS as FieldProblem[] };
  }
}

/** "12345" as 12345 when the number reads back as the same text; any other version as it is. */
function compactVersion(v: string): string | number {
  const n = Number(v);
  return Number.isSafeInteger(n) && n >= 0 && String(n) === v ? n : v;
}

/** The kinds whose informers hold parse results (a Node is one object: the wire form stays). */
export type HeldKind = 'Service' | 'EndpointSlice';

/** @object (plain JSON of @kind, from @origin) read by the model, as an informer should hold it. */
export function holdParsed(kind: HeldKind, object: Record<string, unknown>, origin: string): Record<string, unknown> {
  const result = kind === 'Service' ? parseService(object, origin) : parseEndpointSlice(object, origin);
  const meta = object.metadata as { resourceVersion?: unknown } | undefined;
  return new Held(meta?.resourceVersion, result) as unknown as Record<string, unknown>;
}

const NO_PROBLEMS: readonly FieldProblem[] = Object.freeze([]);

/** The parse result @input holds, when holdParsed made it; undefined for any other object. */
export function heldResult<T>(input: unknown): ParseResult<T> | undefined {
  return input instanceof Held ? input.result<T>() : undefined;
}
