// Asking the agent's admin endpoint (src/inspect/admin.ts): `unix:/path` (the default, found from
// the pin directory) or `http://host:port`. A short timeout: an agent that does not answer is
// treated as stopped, and explain falls back to the pins.
import { request } from 'node:http';
import { adminSocketPath, type AgentErrors, type AgentWants, type LoggedError } from '../inspect/admin.js';

const TIMEOUT_MS = 2000;

/** The URL of the agent owning `pinDir`: `--agent`, else its socket. */
export const defaultAgentUrl = (pinDir: string) => `unix:${adminSocketPath(pinDir)}`;

export type AgentAnswer =
  | { url: string; answered: true; wants: AgentWants; errors: AgentErrors }
  | { url: string; answered: false; why: string };

function get(url: string, path: string): Promise<unknown> {
  const where = url.startsWith('unix:') ? { socketPath: url.slice(5), path } : httpTarget(new URL(path, url));
  return new Promise((resolve, reject) => {
    const req = request({ ...where, timeout: TIMEOUT_MS, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 200) return reject(new Error(`${path}: HTTP ${res.statusCode}: ${text.slice(0, 200)}`));
        try {
          resolve(JSON.parse(text));
        } catch {
          reject(new Error(`${path}: not JSON`));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end();
  });
}

function httpTarget(u: URL): { host: string; port: number; path: string } {
  if (u.protocol !== 'http:') throw new Error(`--agent ${u.href}: expected unix:/path or http://host:port`);
  return { host: u.hostname, port: Number(u.port || 80), path: `${u.pathname}${u.search}` };
}

/** What the agent wants for `service` ("ns/name", or every Service when undefined) and its errors. */
export async function askAgent(url: string, service?: string): Promise<AgentAnswer> {
  const q = service ? `?service=${encodeURIComponent(service)}` : '';
  try {
    const [wants, errors] = await Promise.all([get(url, `/v1/wants${q}`), get(url, '/v1/errors')]);
    return { url, answered: true, wants: wants as AgentWants, errors: errors as AgentErrors };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why =
      e.code === 'ENOENT'
        ? 'no socket (agent not running)'
        : e.code === 'ECONNREFUSED'
          ? 'connection refused'
          : e.message;
    return { url, answered: false, why };
  }
}

/** The errors the agent logged for a Service: the Service's own, and those of its slices and its
 *  service ports (a full map). `service` is "name" or "ns/name". */
export function errorsFor(errors: AgentErrors, service: string): LoggedError[] {
  const [ns, name] = service.includes('/') ? service.split('/', 2) : [undefined, service];
  const mine = (e: LoggedError) => {
    const [ens, ename] = e.object.split('/', 2);
    if (ns !== undefined && ens !== ns) return false;
    if (e.kind === 'Service' || e.kind === 'Endpoints') return ename === name;
    // EndpointSlices are named after their Service plus a suffix (the controller's generateName).
    return e.kind === 'EndpointSlice' && ename?.startsWith(`${name}-`);
  };
  return Object.values(errors.objects)
    .flat()
    .filter(mine)
    .sort((a, b) => a.time.localeCompare(b.time));
}
