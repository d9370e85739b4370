// A list request that returns the API server's JSON as it came over the wire, every field kept,
// so lists and watches feed the informers exactly the same JSON.
import { ApiError, type ApiClient } from './client.js';
import { decodeList, decodeStatusMessage, ProtobufError } from './protobuf.js';
import { PROTOBUF, PROTOBUF_LISTS } from '../util/k8s-protobuf.js';

export interface RawList<T = Record<string, any>> {
  apiVersion?: string;
  kind?: string;
  metadata: { resourceVersion?: string; continue?: string };
  items: T[];
}

/** The body of a response that is not the one wanted: the Status message when there is one. */
export function statusMessage(text: string): string {
  try {
    const message = (JSON.parse(text) as { message?: unknown }).message;
    if (typeof message === 'string') return message;
  } catch {
    // not a Status: the raw text
  }
  return text.slice(0, 200);
}

/** A protobuf Status's message, or what its bytes hold that reads as text. */
function statusText(bytes: Buffer): string {
  try {
    return decodeStatusMessage(bytes);
  } catch {
    return bytes
      .toString('latin1')
      .replace(/[^\x20-\x7e]+/g, ' ')
      .trim()
      .slice(0, 200);
  }
}

/**
 * How many items a list page asks for: sized by the text it comes as, not by a fixed count.
 *
 * V8 keeps every string of 128 KiB or more in its large-object space, and a page's text is one
 * string on each side (the server joins it, JSON.parse takes nothing else). Each such string is a
 * fresh mmap, faulted in 4 KiB at a time and unmapped at the next GC, and on this VM a fault costs
 * ~10 µs. Pages of 100 slices (~280 KiB) cost the agent ~110 faults each to parse, and the API
 * double twice the CPU to write. Under the threshold the text is an ordinary young-generation
 * string. At 10,000 Services the list took ~200–300 ms less than in pages of 100 (bench/README.md,
 * thirteenth round, has the runs and the fixed sizes tried).
 *
 * Small pages also keep few wire objects in flight, which the young generation (4 MiB semi-spaces)
 * copies when a scavenge finds them alive: why 100 had replaced client-go's 500 (ninth round).
 * So: a first page of FIRST_PAGE items, then as many as the last page's characters per item say
 * fit in PAGE_CHARS, between MIN_PAGE and MAX_PAGE. Services (~250 characters) come ~450 at a
 * time, EndpointSlices of 10 endpoints (~2,800) ~40.
 */
export const PAGE_CHARS = 112 * 1024;
export const FIRST_PAGE = 40;
export const MIN_PAGE = 10;
export const MAX_PAGE = 500;

/** The limit of the page after one of @items items in @chars characters, asked with @limit. A
 *  page with no items says nothing of their size (a server may send an empty page with a continue
 *  token): the limit stays. */
export function nextPageLimit(chars: number, items: number, limit: number): number {
  if (items === 0) return limit;
  return Math.min(MAX_PAGE, Math.max(MIN_PAGE, Math.floor((PAGE_CHARS * items) / chars)));
}

/**
 * Lists `path` (e.g. /api/v1/services) with the given query, page by page; @each takes each item
 * as it is parsed (the informer holds or trims it there) and returns what to keep. The result has
 * the resourceVersion of the first page (the one the pages are a snapshot of). Rejects on
 * non-200 or a body that does not decode.
 *
 * @kind, when it is one of PROTOBUF_LISTS (EndpointSlice), asks for the list in protobuf first
 * (src/util/k8s-protobuf.ts says why) and takes JSON from a server that answers with it.
 */
export async function listRaw<T = Record<string, any>>(
  api: ApiClient,
  path: string,
  query: Record<string, string | undefined>,
  signal?: AbortSignal,
  each: (item: Record<string, any>) => T = (item) => item as T,
  kind?: string,
): Promise<RawList<T>> {
  let first: RawList<unknown> | undefined;
  const items: T[] = [];
  let cont: string | undefined;
  let limit = FIRST_PAGE;
  const protobuf = kind !== undefined && kind in PROTOBUF_LISTS ? kind : undefined;
  do {
    const q = { ...query, limit: String(limit), continue: cont };
    const { body: page, chars } = await listPage(api, path, q, signal, each, items, protobuf);
    limit = nextPageLimit(chars, page.items.length, limit);
    first ??= page;
    cont = page.metadata.continue || undefined;
  } while (cont);
  const { resourceVersion } = first.metadata;
  return { apiVersion: first.apiVersion, kind: first.kind, metadata: { resourceVersion }, items };
}

/** One page: its items, through @each, go onto @into; @chars is the size of its body (characters
 *  of JSON, bytes of protobuf), which sizes the next page. */
async function listPage<T>(
  api: ApiClient,
  path: string,
  query: Record<string, string | undefined>,
  signal: AbortSignal | undefined,
  each: (item: Record<string, any>) => T,
  into: T[],
  protobuf: string | undefined,
): Promise<{ body: RawList<unknown>; chars: number }> {
  const res = await api.get(path, query, signal, protobuf ? `${PROTOBUF}, application/json` : undefined);
  if (res.headers['content-type']?.startsWith(PROTOBUF)) {
    const chunks: Buffer[] = [];
    for await (const c of res as AsyncIterable<Buffer>) chunks.push(c);
    const bytes = Buffer.concat(chunks);
    if (res.statusCode !== 200)
      throw new ApiError(`list ${path}: HTTP ${res.statusCode}: ${statusText(bytes)}`, res.statusCode);
    if (!protobuf) throw new ApiError(`list ${path}: response is protobuf, which was not asked for`);
    try {
      const body = decodeList(bytes, protobuf, (item) => {
        into.push(each(item));
        return undefined;
      });
      return { body, chars: bytes.length };
    } catch (e) {
      if (!(e instanceof ProtobufError)) throw e;
      throw new ApiError(`list ${path}: response is not the protobuf it says: ${e.message}`);
    }
  }
  // Decoded chunk by chunk and joined as a string: no second copy of the body as one Buffer
  // (malloc'd outside the heap and slow to go back to the system).
  res.setEncoding('utf8');
  let text = '';
  for await (const c of res as AsyncIterable<string>) text += c;
  if (res.statusCode !== 200)
    throw new ApiError(`list ${path}: HTTP ${res.statusCode}: ${statusMessage(text)}`, res.statusCode);
  let body: RawList;
  try {
    body = JSON.parse(text) as RawList;
  } catch (e) {
    throw new ApiError(`list ${path}: response is not JSON: ${(e as Error).message}`);
  }
  if (!body || !Array.isArray(body.items)) throw new ApiError(`list ${path}: response has no items`);
  body.metadata ??= {};
  for (const item of body.items) into.push(each(item));
  return { body, chars: text.length };
}
