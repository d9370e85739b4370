// The lab's API server: FakeApiServer as a process, started inside the lab's underlay namespace so
// the agents on the nodes reach it at 10.250.0.254:6443 like a real control plane. TCP in that
// namespace is out of reach from the root namespace, so the same API is also served on a unix
// socket (path sockets ignore network namespaces): the admin channel of `switchyard lab`.
//   node dist/fakeapi/main.js --host 10.250.0.254 --port 6443 --socket /run/switchyard-lab/NAME/api.sock
// With --state FILE the objects outlive the process, as a real API server's do (etcd): they are
// written there as they change and loaded on start, so a restarted server resyncs its clients
// instead of telling them everything was deleted.
import { createServer, request } from 'node:http';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DEFAULT_TOKEN, FakeApiServer } from './server.js';

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '6443' },
    socket: { type: 'string' },
    token: { type: 'string', default: DEFAULT_TOKEN },
    state: { type: 'string' },
  },
});

const api = new FakeApiServer({
  host: values.host,
  port: Number(values.port),
  token: values.token,
  historySize: 10_000,
});
const PERSISTED_KINDS = ['Node', 'Service', 'Endpoints', 'EndpointSlice'] as const;
if (values.state && existsSync(values.state)) {
  for (const obj of JSON.parse(readFileSync(values.state, 'utf8')) as unknown[]) api.apply(obj);
}
let savedVersion = api.resourceVersion();
const save = () => {
  if (!values.state || api.resourceVersion() === savedVersion) return;
  savedVersion = api.resourceVersion();
  const tmp = `${values.state}.tmp`;
  writeFileSync(tmp, JSON.stringify(PERSISTED_KINDS.flatMap((kind) => api.list(kind))));
  renameSync(tmp, values.state);
};
const saver = setInterval(save, 100);
const { url } = await api.start();
const target = new URL(url);

// The admin socket: every request is passed through to the TCP server, body and answer streamed
// (watches included), so both doors show exactly the same API.
const admin = values.socket
  ? createServer((req, res) => {
      const upstream = request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      upstream.on('error', (err) => {
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`lab api proxy: ${err.message}\n`);
      });
      res.on('close', () => upstream.destroy());
      req.pipe(upstream);
    })
  : undefined;
if (admin && values.socket) {
  rmSync(values.socket, { force: true });
  await new Promise<void>((resolve, reject) => {
    admin.once('error', reject);
    admin.listen(values.socket, () => resolve());
  });
}
process.stdout.write(
  `${JSON.stringify({ msg: 'lab api server listening', url, socket: values.socket ?? null, pid: process.pid })}\n`,
);

const stop = (signal: string) => {
  process.stdout.write(`${JSON.stringify({ msg: 'stopping', signal })}\n`);
  clearInterval(saver);
  save();
  admin?.close();
  admin?.closeAllConnections();
  if (values.socket) rmSync(values.socket, { force: true });
  api.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
  setTimeout(() => process.exit(0), 2000).unref();
};
process.once('SIGTERM', () => stop('SIGTERM'));
process.once('SIGINT', () => stop('SIGINT'));
