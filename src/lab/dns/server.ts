// The lab's cluster DNS (the kube-dns pods): answers the Kubernetes DNS schema (records.ts) on
// UDP and TCP 53 from Services and EndpointSlices it follows by list/watch (watch.ts). The wire
// format is dns-packet's. Run inside a pod's namespace:
//   node dist/lab/dns/server.js --socket /run/switchyard-lab/NAME/api.sock --token TOKEN [--port 53]
import { createSocket } from 'node:dgram';
import { createServer, type Socket } from 'node:net';
import { parseArgs } from 'node:util';
import * as dnsPacket from 'dns-packet';
import { answer } from './records.js';
import { Watcher } from './watch.js';

const { values } = parseArgs({
  options: {
    socket: { type: 'string' },
    token: { type: 'string', default: '' },
    port: { type: 'string', default: '53' },
  },
});
if (!values.socket) throw new Error('dns server: --socket (the lab API server admin socket) is required');
const log = (msg: string) => process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), msg })}\n`);

const services = new Watcher(values.socket, values.token!, 'Service', log);
const slices = new Watcher(values.socket, values.token!, 'EndpointSlice', log);
services.start();
slices.start();

const RCODE = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4 } as const;

/** A query in, the encoded response out (undefined for what is not a query at all). */
function respond(msg: Buffer): Buffer | undefined {
  let q: dnsPacket.DecodedPacket;
  try {
    q = dnsPacket.decode(msg);
  } catch {
    return undefined;
  }
  if (q.type !== 'query') return undefined;
  const base = (q.flags ?? 0) & dnsPacket.RECURSION_DESIRED;
  const reply = (rcode: number, rest: Partial<dnsPacket.Packet> = {}) =>
    dnsPacket.encode({
      type: 'response',
      id: q.id,
      flags: base | dnsPacket.AUTHORITATIVE_ANSWER | rcode,
      questions: q.questions,
      ...rest,
    });
  const question = q.questions?.[0];
  if (!question || q.questions!.length !== 1) return reply(RCODE.NOTIMP);
  // Until both lists are in, an answer could be a wrong NXDOMAIN: SERVFAIL makes the client retry.
  if (!services.synced || !slices.synced) return reply(RCODE.SERVFAIL);
  const a = answer(question, services.values(), slices.values());
  return reply(RCODE[a.rcode], { answers: a.answers, authorities: a.authorities, additionals: a.additionals });
}

const udp = createSocket('udp4');
udp.on('message', (msg, peer) => {
  const out = respond(msg);
  if (out) udp.send(out, peer.port, peer.address);
});
udp.on('error', (err) => {
  log(`udp: ${err.message}`);
  process.exit(1);
});
udp.bind(Number(values.port), '0.0.0.0');

// TCP: each message is prefixed by its 2-byte length (RFC 1035 4.2.2); one connection may carry several.
const tcp = createServer((conn: Socket) => {
  let buf = Buffer.alloc(0);
  conn.on('data', (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
      const len = buf.readUInt16BE(0);
      const out = respond(buf.subarray(2, 2 + len));
      buf = buf.subarray(2 + len);
      if (!out) {
        conn.destroy();
        return;
      }
      const framed = Buffer.alloc(2 + out.length);
      framed.writeUInt16BE(out.length, 0);
      out.copy(framed, 2);
      conn.write(framed);
    }
  });
  conn.on('error', () => conn.destroy());
  conn.setTimeout(10_000, () => conn.destroy());
});
tcp.listen(Number(values.port), '0.0.0.0', () => log(`cluster DNS on udp/tcp ${values.port}`));

const stop = () => {
  services.stop();
  slices.stop();
  udp.close();
  tcp.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
