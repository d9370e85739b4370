// One endpoint change as bench/scale's measuring process and its rolling-update writer make it:
// a PUT of Service n's EndpointSlice with its first endpoint swapped for 10.x.y.(100 + v).
import { Agent, request } from 'node:http';
import { DEFAULT_TOKEN } from '../dist/fakeapi/server.js';

/** Kept-alive connections, as many as the rolling update keeps in flight. node:http rather than
 *  fetch(): undici's per-request cost made the writer, not the double or the agent, the limit of a
 *  1,000-changes-per-second rolling update on this 2-CPU machine. */
const agent = new Agent({ keepAlive: true, maxSockets: 256, timeout: 4_000 });
// timeout: an idle kept-alive socket is closed here after 4 s, before the double's own 5 s
// keepAliveTimeout closes it under a request. The agent reuses its most recent sockets first, so
// with 256 of them some sat idle past 5 s and were picked up when the writes bunched; one rolling
// update failed on two such resets in a row (session 13).

/** The address Service n's first endpoint has after change v (the others are as preloaded). */
export const firstAddr = (n, v) => `10.${64 + ((n >> 8) & 127)}.${n & 255}.${100 + v}`;

/** Endpoint e of Service n's slice at @address, as the EndpointSlice controller writes it: half on
 *  this node, and each naming its Pod (targetRef), which is most of an endpoint's bytes. */
export const sliceEndpoint = (n, e, address) => ({
  addresses: [address],
  conditions: { ready: true, serving: true, terminating: false },
  nodeName: e % 2 ? 'node1' : 'node2',
  targetRef: {
    kind: 'Pod',
    namespace: 'default',
    name: `svc${n}-${e}`,
    uid: `${(n * 16 + e).toString(16).padStart(8, '0')}-7260-4188-8209-6ac744844bc7`,
  },
});

/** Makes the API double's write path warm before anything is timed: @times PUTs of a slice the
 *  agent does not watch (it carries the headless label its selector leaves out), so the double
 *  handles a whole write and the agent sees nothing. A real API server has long been warm. */
export async function warmUpWrites(url, times) {
  for (let v = 0; v < times; v++) await put(url, 0, v, 'bench-warm-up', { 'service.kubernetes.io/headless': '' });
}

export async function put(url, n, v, name = `svc${n}`, labels = {}) {
  const endpoints = Array.from({ length: 10 }, (_, e) =>
    sliceEndpoint(n, e, e === 0 ? firstAddr(n, v) : `10.${64 + ((n >> 8) & 127)}.${n & 255}.${e + 1}`),
  );
  const slice = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    addressType: 'IPv4',
    metadata: { name: `${name}-1`, namespace: 'default', labels: { 'kubernetes.io/service-name': name, ...labels } },
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints,
  };
  const body = JSON.stringify(slice);
  const path = `/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/${name}-1`;
  // A kept-alive connection the double closed while it sat idle (its 5 s keepAliveTimeout) fails
  // the request sent on it with ECONNRESET before any answer: sent once more, as Node advises.
  const { status, text } = await send(url, path, body).catch((err) => {
    if (err.code !== 'ECONNRESET') throw err;
    return send(url, path, body);
  });
  if (status < 200 || status > 299) throw new Error(`PUT ${name}-1: ${status} ${text}`);
}

function send(url, path, body) {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, url), {
      method: 'PUT',
      agent,
      headers: {
        authorization: `Bearer ${DEFAULT_TOKEN}`,
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
      },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode, text }));
    });
    req.end(body);
  });
}
