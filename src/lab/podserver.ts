// A pod's workload in the lab and the e2e tests: HTTP on :80 like the classic "myapp" demo
// (/ says hello with the version, /hostname.html the pod name, /clientip the pod name and the
// client address it sees, /env its environment: the Services' variables) and a UDP echo that names the pod.
// Run inside a pod's namespace: node dist/lab/podserver.js NAME [VERSION] [HTTP_PORT] [UDP_PORT] [BIND]
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createSocket } from 'node:dgram';

const [name = 'pod', version = 'v1', httpPort = '80', udpPort = '5353', bind = '0.0.0.0'] = process.argv.slice(2);

/** /env: the pod's environment as the kubelet set it (Service variables), NAME=value sorted. */
const env = () =>
  Object.entries(process.env)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}\n`)
    .join('');

const handler = (req: IncomingMessage, res: ServerResponse) => {
  // /clientip: "NAME ADDRESS", the peer as this pod sees it (after any SNAT on the way in).
  const body =
    req.url === '/hostname.html'
      ? `${name}\n`
      : req.url === '/env'
        ? env()
        : req.url === '/clientip'
          ? `${name} ${req.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '?'}\n`
          : `Hello MyApp | Version: ${version} | <a href="hostname.html">Pod Name</a>\n`;
  res.writeHead(200, { 'content-type': 'text/html' });
  res.end(body);
};
const http = createServer(handler);
http.listen(Number(httpPort), bind);
// Bound to every IPv4 address (the default), the pod answers on every IPv6 one too, as a pod of a
// dual-stack cluster does; a namespace without IPv6 just has no IPv6 listener.
const all = bind === '0.0.0.0';
const http6 = all ? createServer(handler) : undefined;
http6?.on('error', () => http6.close());
http6?.listen({ port: Number(httpPort), host: '::', ipv6Only: true });

const udp = createSocket('udp4');
udp.on('message', (msg, peer) => udp.send(`${name} ${msg.toString()}`, peer.port, peer.address));
udp.bind(Number(udpPort), bind);
const udp6 = all ? createSocket({ type: 'udp6', ipv6Only: true }) : undefined;
udp6?.on('error', () => udp6.close());
udp6?.on('message', (msg, peer) => udp6.send(`${name} ${msg.toString()}`, peer.port, peer.address));
udp6?.bind(Number(udpPort));

const stop = () => {
  http.close();
  http6?.close();
  udp.close();
  udp6?.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
