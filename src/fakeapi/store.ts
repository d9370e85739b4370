// The double's object store: objects by kind and namespace/name, one global resourceVersion
// counter (like etcd's revision), and a bounded per-kind history of events so a watch can be
// resumed from a resourceVersion — or refused with 410 Gone once that version was compacted.
import { randomUUID } from 'node:crypto';
import { API_KINDS, KINDS, isApiKind, type ApiKind } from '../model/kinds.js';
import { PROTOBUF_LISTS, type Message } from '../util/k8s-protobuf.js';
import { encodeObject } from './protobuf.js';

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  [k: string]: unknown;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [k: string]: unknown;
}

export interface StoreEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  /** The global resourceVersion this event created. */
  rv: number;
  /** The object after the change (for DELETED: its last state, stamped with the deletion's rv). */
  object: KubeObject;
  /** The object before a MODIFIED: a watch with a selector turns it into ADDED or DELETED. */
  prev?: KubeObject;
}

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

const key = (ns: string | undefined, name: string) => `${ns ?? ''}/${name}`;
/** Kubernetes timestamps carry seconds only: 2024-01-02T03:04:05Z. */
const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

export class ObjectStore {
  private rv = 0;
  private readonly objects = new Map<ApiKind, Map<string, KubeObject>>();
  private readonly history = new Map<ApiKind, StoreEvent[]>();
  /** A watch from a resourceVersion below the floor missed events that are gone: 410. */
  private readonly floor = new Map<ApiKind, number>();
  private readonly listeners = new Set<(kind: ApiKind, ev: StoreEvent) => void>();
  /** Each stored object as a list item's JSON. Stored objects are replaced on every change, never
   *  edited, so the entry goes with its object: a list of 10,000 objects then costs a join, not
   *  10,000 clones and a 25 MB serialization each time (the double, not the agent, was most of the
   *  bench's cold-start list). */
  private readonly itemJsonCache = new WeakMap<KubeObject, string>();
  private readonly itemProtobufCache = new WeakMap<KubeObject, Buffer>();
  /** Keys of a kind in list order, until an object of the kind is added or deleted. */
  private readonly sortedKeys = new Map<ApiKind, string[]>();

  constructor(private readonly historySize = 1000) {
    for (const k of API_KINDS) {
      this.objects.set(k, new Map());
      this.history.set(k, []);
      this.floor.set(k, 0);
    }
  }

  get resourceVersion(): number {
    return this.rv;
  }

  onEvent(fn: (kind: ApiKind, ev: StoreEvent) => void): void {
    this.listeners.add(fn);
  }

  /** Creates or replaces an object; returns a copy of what is stored. */
  apply(input: unknown, mode: 'apply' | 'create' | 'update' = 'apply'): KubeObject {
    const obj = structuredClone(input) as KubeObject;
    if (!obj || typeof obj !== 'object' || !isApiKind(obj.kind)) {
      throw new ApiError(400, 'BadRequest', `unsupported kind: ${JSON.stringify((obj as { kind?: unknown })?.kind)}`);
    }
    const info = KINDS[obj.kind];
    const meta = obj.metadata;
    if (!meta || typeof meta.name !== 'string' || meta.name === '') {
      throw new ApiError(422, 'Invalid', `${info.kind}: metadata.name is required`);
    }
    obj.apiVersion ??= info.apiVersion;
    if (info.namespaced) meta.namespace ||= 'default';
    else delete meta.namespace;
    const objects = this.objects.get(info.kind)!;
    const k = key(meta.namespace, meta.name);
    const old = objects.get(k);
    if (old && mode === 'create') {
      throw new ApiError(409, 'AlreadyExists', `${info.plural} "${meta.name}" already exists`);
    }
    if (!old && mode === 'update') {
      throw new ApiError(404, 'NotFound', `${info.plural} "${meta.name}" not found`);
    }
    meta.uid = old?.metadata.uid ?? (typeof meta.uid === 'string' && meta.uid ? meta.uid : randomUUID());
    meta.creationTimestamp = old?.metadata.creationTimestamp ?? meta.creationTimestamp ?? now();
    meta.resourceVersion = String(++this.rv);
    if (!old) this.sortedKeys.delete(info.kind);
    objects.set(k, obj);
    // Now, while the object is at hand, rather than in the first list (and protobuf too for the
    // kinds a list may ask for in it: a real server's encoder is Go, this one is not).
    this.cacheItemJson(obj);
    const proto = PROTOBUF_LISTS[info.kind];
    if (proto) this.itemProtobufCache.set(obj, encodeObject(proto, obj));
    this.record(info.kind, { type: old ? 'MODIFIED' : 'ADDED', rv: this.rv, object: obj, prev: old });
    return structuredClone(obj);
  }

  /** Deletes an object; returns its last state (with the deletion's resourceVersion) or undefined. */
  delete(kind: ApiKind, namespace: string | undefined, name: string): KubeObject | undefined {
    const info = KINDS[kind];
    const objects = this.objects.get(kind)!;
    const k = key(info.namespaced ? namespace || 'default' : undefined, name);
    const old = objects.get(k);
    if (!old) return undefined;
    objects.delete(k);
    this.sortedKeys.delete(kind);
    const gone = structuredClone(old);
    gone.metadata.resourceVersion = String(++this.rv);
    this.record(kind, { type: 'DELETED', rv: this.rv, object: gone });
    return structuredClone(gone);
  }

  get(kind: ApiKind, namespace: string | undefined, name: string): KubeObject | undefined {
    const ns = KINDS[kind].namespaced ? namespace || 'default' : undefined;
    const obj = this.objects.get(kind)!.get(key(ns, name));
    return obj && structuredClone(obj);
  }

  /** Copies of every object of a kind, sorted by namespace/name like the API server. */
  list(kind: ApiKind): KubeObject[] {
    return [...this.objects.get(kind)!.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, o]) => structuredClone(o));
  }

  /** The matching objects of a kind as list items, sorted like list(): each as @encode makes it
   *  (itemJson, itemProtobuf: cached per stored object). @match reads the stored objects: it must
   *  not edit them. A page: at most @limit items (0: all) after the key @after; `next` is the last
   *  key returned when more match. */
  listItems<T>(
    kind: ApiKind,
    match: (o: KubeObject) => boolean,
    page: { after?: string; limit?: number },
    encode: (o: KubeObject) => T,
  ): { items: T[]; next?: string } {
    const objects = this.objects.get(kind)!;
    let keys = this.sortedKeys.get(kind);
    if (!keys) {
      keys = [...objects.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      this.sortedKeys.set(kind, keys);
    }
    const { after, limit = 0 } = page;
    const items: T[] = [];
    let last: string | undefined;
    // The first key after @after, found by bisection: a page costs its own items, not a walk over
    // every key before it (10,000 slices in pages of 100 made that 100 walks).
    let lo = 0;
    for (let hi = keys.length; after !== undefined && lo < hi; ) {
      const mid = (lo + hi) >>> 1;
      if (keys[mid]! <= after) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < keys.length; i++) {
      const k = keys[i]!;
      const o = objects.get(k)!;
      if (!match(o)) continue;
      if (limit > 0 && items.length === limit) return { items, next: last };
      items.push(encode(o));
      last = k;
    }
    return { items };
  }

  /** A stored object as a list item's JSON (no kind/apiVersion: the API server leaves them to the
   *  List). */
  readonly itemJson = (o: KubeObject): string => this.itemJsonCache.get(o) ?? this.cacheItemJson(o);

  /** A stored object as a list item in protobuf (src/fakeapi/protobuf.ts), made at the first list
   *  that asks for it. */
  itemProtobuf(o: KubeObject, m: Message): Buffer {
    let bytes = this.itemProtobufCache.get(o);
    if (!bytes) this.itemProtobufCache.set(o, (bytes = encodeObject(m, o)));
    return bytes;
  }

  private cacheItemJson(o: KubeObject): string {
    const { kind: _k, apiVersion: _a, ...item } = o;
    const json = JSON.stringify(item);
    this.itemJsonCache.set(o, json);
    return json;
  }

  /** Events of a kind after resourceVersion `from`, or 'expired' if some were compacted away. */
  since(kind: ApiKind, from: number): StoreEvent[] | 'expired' {
    if (from < this.floor.get(kind)!) return 'expired';
    return this.history.get(kind)!.filter((e) => e.rv > from);
  }

  /** The oldest resourceVersion a watch of this kind may still start from. */
  oldest(kind: ApiKind): number {
    return this.floor.get(kind)!;
  }

  /** Forgets the history: any watch from a version before now gets 410 Gone. */
  compact(kind?: ApiKind): void {
    for (const k of kind ? [kind] : API_KINDS) {
      this.history.set(k, []);
      this.floor.set(k, this.rv);
    }
  }

  private record(kind: ApiKind, ev: StoreEvent): void {
    const h = this.history.get(kind)!;
    h.push(ev);
    while (h.length > this.historySize) this.floor.set(kind, h.shift()!.rv);
    for (const fn of this.listeners) fn(kind, ev);
  }
}
