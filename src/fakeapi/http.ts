// HTTP side of the double: routes the API paths of Services, EndpointSlices and Nodes to
// list, watch and CRUD handlers, speaking the wire format Kubernetes clients expect (the
// agent's informers, client-node's, kubectl's).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { KINDS, type ApiKind } from '../model/kinds.js';
import { ApiError, type KubeObject, type ObjectStore } from './store.js';
import { fieldSelector, labelSelector, SelectorError } from './selectors.js';
import { statusObject, translate, type WatchEventType, type WatchHub } from './watch.js';
import type { FaultState } from './faults.js';
import { PROTOBUF, PROTOBUF_LISTS } from '../util/k8s-protobuf.js';
import { encodeList } from './protobuf.js';

export interface HandlerContext {
  store: ObjectStore;
  hub: WatchHub;
  faults: FaultState;
  /** Counts a request under "<verb> <path>" (verbs: list watch get create update delete). */
  count(key: string): void;
  /** When set, requests must carry "Authorization: Bearer <token>". */
  token?: string;
}

interface Route {
  kind: ApiKind;
  namespace?: string;
  name?: string;
}

// The group/version prefixes come from the kind table, so a kind added there is routed here too.
const PREFIXES = [...new Set(Object.values(KINDS).map((k) => k.prefix.replace(/[.]/g, '\\.')))].join('|');
const ROUTE = new RegExp(`^(${PREFIXES})(?:/namespaces/([^/]+))?/([a-z]+)(?:/([^/]+))?/?$`);

export function parseRoute(pathname: string): Route | undefined {
  const m = ROUTE.exec(pathname);
  if (!m) return undefined;
  const [, prefix, namespace, plural, name] = m;
  const info = Object.values(KINDS).find((k) => k.prefix === prefix && k.plural === plural);
  if (!info || (namespace !== undefined && !info.namespaced)) return undefined;
  return {
    kind: info.kind,
    namespace: namespace && decodeURIComponent(namespace),
    name: name && decodeURIComponent(name),
  };
}

function sendJson(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function sendStatus(res: ServerResponse, code: number, reason: string, message: string): void {
  sendJson(res, code, statusObject(code, reason, message));
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (e) {
    throw new ApiError(400, 'BadRequest', `body is not JSON: ${(e as Error).message}`);
  }
}

/** The match function of a list or watch: namespace of the path, labelSelector, fieldSelector. */
function matcher(route: Route, q: URLSearchParams): (o: KubeObject) => boolean {
  try {
    const labels = labelSelector(q.get('labelSelector'));
    const fields = fieldSelector(q.get('fieldSelector'));
    return (o) =>
      (route.namespace === undefined || o.metadata.namespace === route.namespace) &&
      labels(o.metadata.labels) &&
      fields(o.metadata);
  } catch (e) {
    if (e instanceof SelectorError) throw new ApiError(400, 'BadRequest', e.message);
    throw e;
  }
}

/**
 * A list, in pages when asked (`limit`, `continue`) as the API server pages one from etcd. Each
 * page is the objects as they are now, after the previous page's last key, all under the first
 * page's resourceVersion, so a client watching from it sees again whatever changed meanwhile (a
 * real server's pages are one snapshot; for a client that replays the watch, the result is the
 * same). A continue token whose version left the history is 410 Expired, as etcd's compaction.
 */
function list(ctx: HandlerContext, route: Route, q: URLSearchParams, req: IncomingMessage, res: ServerResponse): void {
  const match = matcher(route, q);
  const info = KINDS[route.kind];
  const limit = Number(q.get('limit') ?? 0);
  const token = q.get('continue');
  let cont: { rv: number; after?: string } | undefined;
  if (token) {
    try {
      cont = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    } catch {
      throw new ApiError(400, 'BadRequest', 'invalid continue token');
    }
    if (ctx.store.since(route.kind, cont!.rv) === 'expired')
      throw new ApiError(410, 'Expired', 'The provided continue parameter is too old');
  }
  // Protobuf when the client asks for it and the kind has it (src/util/k8s-protobuf.ts), as a real
  // API server negotiates: JSON otherwise.
  const proto = PROTOBUF_LISTS[route.kind];
  const asProtobuf = proto !== undefined && (req.headers.accept ?? '').includes(PROTOBUF);
  ctx.faults.runOrHold(route.kind, res, () => {
    const from = cont ?? { rv: ctx.store.resourceVersion };
    const paging = { after: from.after, limit: Number.isSafeInteger(limit) && limit > 0 ? limit : 0 };
    const continueAfter = (next?: string) =>
      next && Buffer.from(JSON.stringify({ rv: from.rv, after: next })).toString('base64url');
    const metadata = (next?: string) => ({
      resourceVersion: String(from.rv),
      ...(continueAfter(next) ? { continue: continueAfter(next) } : {}),
    });
    if (asProtobuf) {
      const page = ctx.store.listItems(route.kind, match, paging, (o) => ctx.store.itemProtobuf(o, proto));
      const body = encodeList({ apiVersion: info.apiVersion, kind: info.listKind }, metadata(page.next), page.items);
      res.writeHead(200, { 'Content-Type': PROTOBUF, 'Content-Length': body.length });
      res.end(body);
      return;
    }
    const page = ctx.store.listItems(route.kind, match, paging, ctx.store.itemJson);
    // The same bytes as JSON.stringify of the List, with each item's JSON cached by the store.
    const head = JSON.stringify({ kind: info.listKind, apiVersion: info.apiVersion, metadata: metadata(page.next) });
    const text = `${head.slice(0, -1)},"items":[${page.items.join(',')}]}`;
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  });
}

function watch(ctx: HandlerContext, route: Route, q: URLSearchParams, res: ServerResponse): void {
  const match = matcher(route, q);
  const rvText = q.get('resourceVersion') ?? '';
  let replay: Array<{ type: WatchEventType; object: unknown }>;
  if (rvText === '' || rvText === '0') {
    // No version: the current state as synthetic ADDED events, then changes.
    replay = ctx.store
      .list(route.kind)
      .filter(match)
      .map((object) => ({ type: 'ADDED', object }));
  } else {
    const from = Number(rvText);
    if (!Number.isSafeInteger(from) || from < 0) {
      throw new ApiError(400, 'BadRequest', `invalid resourceVersion: ${JSON.stringify(rvText)}`);
    }
    const events = ctx.store.since(route.kind, from);
    if (events === 'expired') {
      // The watch cache's answer: 200, one ERROR event carrying 410 Expired, end of stream.
      const message = `too old resource version: ${from} (${ctx.store.oldest(route.kind)})`;
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(`${JSON.stringify({ type: 'ERROR', object: statusObject(410, 'Expired', message) })}\n`);
      return;
    }
    replay = [];
    for (const ev of events) {
      const out = translate(ev, match); // replayed exactly like live events
      if (out) replay.push(out);
    }
  }
  const timeout = Number(q.get('timeoutSeconds') ?? '');
  ctx.hub.open(
    {
      kind: route.kind,
      res,
      match,
      bookmarks: q.get('allowWatchBookmarks') === 'true',
      timeoutMs: Number.isFinite(timeout) && timeout > 0 ? timeout * 1000 : undefined,
    },
    replay,
  );
}

async function dispatch(ctx: HandlerContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://fake');
  const q = url.searchParams;
  if (url.pathname === '/healthz' || url.pathname === '/readyz' || url.pathname === '/livez') {
    res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
    return;
  }
  if (ctx.token !== undefined && req.headers.authorization !== `Bearer ${ctx.token}`) {
    throw new ApiError(401, 'Unauthorized', 'Unauthorized');
  }
  if (url.pathname === '/version') {
    sendJson(res, 200, { major: '1', minor: '31', gitVersion: 'v1.31.0-switchyard-fake', platform: 'linux/amd64' });
    return;
  }
  const route = parseRoute(url.pathname);
  if (!route) throw new ApiError(404, 'NotFound', `the server could not find the requested resource: ${url.pathname}`);
  const info = KINDS[route.kind];
  const method = req.method ?? 'GET';

  if (method === 'GET' && route.name === undefined) {
    const isWatch = q.get('watch') === 'true' || q.get('watch') === '1';
    ctx.count(`${isWatch ? 'watch' : 'list'} ${url.pathname}`);
    const fault = ctx.faults.take(route.kind, isWatch);
    if (fault === 500) throw new ApiError(500, 'InternalError', 'injected fault: http500');
    if (fault === 410) throw new ApiError(410, 'Expired', 'injected fault: http410');
    return isWatch ? watch(ctx, route, q, res) : list(ctx, route, q, req, res);
  }
  if (method === 'GET') {
    ctx.count(`get ${url.pathname}`);
    const obj = ctx.store.get(route.kind, route.namespace, route.name!);
    if (!obj) throw new ApiError(404, 'NotFound', `${info.plural} "${route.name}" not found`);
    return sendJson(res, 200, obj);
  }
  if (method === 'DELETE' && route.name !== undefined) {
    ctx.count(`delete ${url.pathname}`);
    const gone = ctx.store.delete(route.kind, route.namespace, route.name);
    if (!gone) throw new ApiError(404, 'NotFound', `${info.plural} "${route.name}" not found`);
    return sendJson(res, 200, gone);
  }
  if ((method === 'POST' && route.name === undefined) || (method === 'PUT' && route.name !== undefined)) {
    ctx.count(`${method === 'POST' ? 'create' : 'update'} ${url.pathname}`);
    const body = (await readJson(req)) as KubeObject;
    if (!body || typeof body !== 'object') throw new ApiError(400, 'BadRequest', 'body must be an object');
    body.kind ??= info.kind;
    body.metadata ??= { name: route.name ?? '' };
    if (body.kind !== info.kind) throw new ApiError(400, 'BadRequest', `kind ${body.kind} posted to ${info.plural}`);
    if (route.name !== undefined && body.metadata.name !== route.name) {
      throw new ApiError(400, 'BadRequest', 'the name of the object does not match the name on the URL');
    }
    if (route.namespace !== undefined) {
      if (body.metadata.namespace && body.metadata.namespace !== route.namespace) {
        throw new ApiError(400, 'BadRequest', 'the namespace of the object does not match the namespace on the URL');
      }
      body.metadata.namespace = route.namespace;
    }
    const created = ctx.store.get(route.kind, body.metadata.namespace, body.metadata.name) === undefined;
    const stored = ctx.store.apply(body, method === 'POST' ? 'create' : 'apply');
    return sendJson(res, created ? 201 : 200, stored);
  }
  throw new ApiError(405, 'MethodNotAllowed', `${method} is not supported on ${url.pathname}`);
}

/** The request listener: every failure becomes a Kubernetes Status response. */
export function handler(ctx: HandlerContext): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    dispatch(ctx, req, res).catch((e: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (e instanceof ApiError) sendStatus(res, e.code, e.reason, e.message);
      else sendStatus(res, 500, 'InternalError', String((e as Error)?.message ?? e));
    });
  };
}
