// A list request that returns the API server's JSON as it came over the wire. The generated
// client's list calls deserialize into class instances (Dates, unknown fields dropped, a
// different shape from what the watch hands over); this one goes through node:http(s) with the
// kubeconfig's agent (TLS, proxy) and headers (token, exec/OIDC auth), can be aborted, and keeps
// every field, so lists and watches feed the store exactly the same JSON.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

export interface RawList {
  apiVersion?: string;
  kind?: string;
  metadata: { resourceVersion?: string; continue?: string };
  items: Array<Record<string, any>>;
}

/** An error with the HTTP status, as client-node's informer expects (`statusCode`). */
export class ListError extends Error {
  constructor(
    message: string,
    readonly statusCode?: number,
  ) {
    super(message);
    this.name = 'ListError';
  }
}

/** Lists `path` (e.g. /api/v1/services) with the given query; rejects on non-200 or bad JSON. */
export async function listRaw(
  kc: KubeConfig,
  path: string,
  query: Record<string, string | undefined>,
  signal?: AbortSignal,
): Promise<RawList> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new ListError('kubeconfig has no current cluster');
  const url = new URL(cluster.server.replace(/\/+$/, '') + path);
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') url.searchParams.set(k, v);
  const fetchOpts = await kc.applyToFetchOptions({});
  const headers: Record<string, string> = { Accept: 'application/json' };
  (fetchOpts.headers as Headers | undefined)?.forEach((v, k) => (headers[k] = v));
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;

  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = send(url, { method: 'GET', headers, agent: fetchOpts.agent as never, signal }, resolve);
    req.on('error', reject);
    req.end();
  });
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (res.statusCode !== 200) {
    let message = text.slice(0, 200);
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? message;
    } catch {
      // not a Status: keep the raw text
    }
    throw new ListError(`list ${url.pathname}: HTTP ${res.statusCode}: ${message}`, res.statusCode);
  }
  let body: RawList;
  try {
    body = JSON.parse(text) as RawList;
  } catch (e) {
    throw new ListError(`list ${url.pathname}: response is not JSON: ${(e as Error).message}`);
  }
  if (!body || !Array.isArray(body.items)) throw new ListError(`list ${url.pathname}: response has no items`);
  body.metadata ??= {};
  return body;
}
