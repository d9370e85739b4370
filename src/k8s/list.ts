// A list request that returns the API server's JSON as it came over the wire, every field kept,
// so lists and watches feed the informers exactly the same JSON.
import { ApiError, type ApiClient } from './client.js';

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
 * non-200 or bad JSON.
 */
export async function listRaw<T = Record<string, any>>(
  api: ApiClient,
  path: string,
  query: Record<string, string | undefined>,
  signal?: AbortSignal,
  each: (item: Record<string, any>) => T = (item) => item as T,
): Promise<RawList<T>> {
  let first: RawList | undefined;
  const items: T[] = [];
  let cont: string | undefined;
  let limit = FIRST_PAGE;
  do {
    const { body: page, chars } = await listPage(api, path, { ...query, limit: String(limit), continue: cont }, signal);
    limit = nextPageLimit(chars, page.items.length, limit);
    first ??= page;
    for (const item of page.items) items.push(each(item));
    cont = page.metadata.continue || undefined;
  } while (cont);
  const { resourceVersion } = first.metadata;
  return { apiVersion: first.apiVersion, kind: first.kind, metadata: { resourceVersion }, items };
}

async function listPage(
  api: ApiClient,
  path: string,
  query: Record<string, string | undefined>,
  signal?: AbortSignal,
): Promise<{ body: RawList; chars: number }> {
  const res = await api.get(path, query, signal);
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
  return { body, chars: text.length };
}
