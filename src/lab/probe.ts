// A client for the lab and the e2e tests, run inside a client namespace. Every HTTP request
// opens a new TCP connection, so each one is a fresh load-balancing decision.
//   node dist/lab/probe.js http URL [--count N] [--duration-ms MS] [--timeout-ms MS]
//   node dist/lab/probe.js udp HOST:PORT [--count N] [--timeout-ms MS]
//   node dist/lab/probe.js hold URL --duration-ms MS [--gap-ms MS]   (one kept-alive connection)
// Prints one JSON line: {ok, failed, answers: {body: count}, errors: {message: count}, durationMs}
import { Agent, request } from 'node:http';
import { createSocket } from 'node:dgram';

/** What the probe prints, and what its callers (the lab demo, the e2e harnesses) read. */
export interface ProbeResult {
  ok: number;
  failed: number;
  answers: Record<string, number>;
  errors: Record<string, number>;
  durationMs: number;
  connections?: number;
}

const args = process.argv.slice(2);
const mode = args[0];
const target = args[1] ?? '';
const flag = (name: string, dflt: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const count = flag('count', 1);
const durationMs = flag('duration-ms', 0);
const timeoutMs = flag('timeout-ms', 2000);

const bump = (rec: Record<string, number>, key: string) => {
  rec[key] = (rec[key] ?? 0) + 1;
};

const gapMs = flag('gap-ms', 100);
const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });
let connections = 0;

function httpOnce(url: string, hold = false): Promise<string> {
  return new Promise((resolve, reject) => {
    const opts = hold
      ? { agent: keepAlive, timeout: timeoutMs }
      : { agent: false as const, timeout: timeoutMs, headers: { connection: 'close' } };
    const req = request(url, opts, (res) => {
      if (!req.reusedSocket) connections++;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve(body.trim()));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** One datagram and its answer. The socket is connected, so the kernel accepts replies only from
 *  the address we sent to, as a real client's resolver does: a reply that was not translated back
 *  (coming from the backend's own address) is never seen and the request times out. */
function udpOnce(hostPort: string, seq: number): Promise<string> {
  // HOST:PORT, or [IPv6]:PORT (RFC 5952 section 6).
  const cut = hostPort.lastIndexOf(':');
  const host = hostPort.slice(0, cut).replace(/^\[(.*)\]$/, '$1');
  const port = hostPort.slice(cut + 1);
  return new Promise((resolve, reject) => {
    const sock = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    // Settles once: a failed connect (ENETUNREACH, say) is an error in the tally, never a crash.
    let settled = false;
    const done = (err: Error | null, answer?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.close();
      if (err) reject(err);
      else resolve(answer ?? '');
    };
    const timer = setTimeout(() => done(new Error('timeout')), timeoutMs);
    sock.on('message', (msg) => done(null, msg.toString().split(' ')[0]));
    sock.on('error', (err) => done(err));
    sock.connect(Number(port), host, (err?: Error) => {
      if (err) return done(err);
      sock.send(`ping ${seq}`, (sendErr) => {
        if (sendErr) done(sendErr);
      });
    });
  });
}

async function main(): Promise<void> {
  const tally: ProbeResult = { ok: 0, failed: 0, answers: {}, errors: {}, durationMs: 0 };
  const started = Date.now();
  if (mode !== 'udp' && mode !== 'http' && mode !== 'hold')
    throw new Error(`probe: unknown mode "${mode}" (http, udp or hold)`);
  const once =
    mode === 'udp'
      ? (i: number) => udpOnce(target, i)
      : mode === 'hold'
        ? async () => {
            await new Promise((r) => setTimeout(r, gapMs));
            return httpOnce(target, true);
          }
        : () => httpOnce(target);
  for (let i = 0; durationMs > 0 ? Date.now() - started < durationMs : i < count; i++) {
    try {
      bump(tally.answers, await once(i));
      tally.ok++;
    } catch (err) {
      tally.failed++;
      bump(tally.errors, (err as NodeJS.ErrnoException).code ?? (err as Error).message);
    }
  }
  tally.durationMs = Date.now() - started;
  tally.connections = connections;
  keepAlive.destroy();
  process.stdout.write(`${JSON.stringify(tally)}\n`);
}

await main();
