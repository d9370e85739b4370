// The agent's admin endpoint (read only): what the agent wants, as the last applied desired
// state says, and the errors it logged per object. Served over HTTP on a unix socket found from
// the pin directory (src/inspect/admin.ts says where and why), for `switchyard explain` and
// `diagnose` on the node.
//   GET /v1/wants[?service=ns/name]   AgentWants: each service port's frontends, sets, backends
//   GET /v1/errors[?object=Kind ns/name]  AgentErrors: the last ERRORS_PER_OBJECT per object
import { chmodSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { SCOPE_EXTERNAL } from '../abi/index.js';
import type { DesiredState } from '../compile/index.js';
import type { Overflow } from '../dataplane/capacity.js';
import { serviceInfoName } from '../dataplane/plan.js';
import type { AgentErrors, AgentWants, LoggedError, WantedServicePort } from '../inspect/admin.js';

/** Errors kept per object: enough to see a pattern, small enough for thousands of objects. */
export const ERRORS_PER_OBJECT = 5;
/** Objects kept at most; the least recently failing ones go first. */
const MAX_OBJECTS = 10_000;

const PROTO: Record<number, string> = { 6: 'TCP', 17: 'UDP' };

/** What the pipeline and the agent report as they log it: one problem with one object. */
export interface Problem {
  kind: string;
  /** "namespace/name" (or a device's name). */
  object: string;
  field?: string;
  message: string;
}

/** The last few errors per object, in a ring each. */
export class ErrorLog {
  private readonly byObject = new Map<string, LoggedError[]>();

  constructor(private readonly now: () => number = Date.now) {}

  record(p: Problem): void {
    const key = `${p.kind} ${p.object}`;
    const ring = this.byObject.get(key) ?? [];
    this.byObject.delete(key); // re-inserted last: Map order is recency
    ring.push({ time: new Date(this.now()).toISOString(), ...p });
    if (ring.length > ERRORS_PER_OBJECT) ring.shift();
    this.byObject.set(key, ring);
    if (this.byObject.size > MAX_OBJECTS) this.byObject.delete(this.byObject.keys().next().value as string);
  }

  /** Every object's errors, or one object's ("Kind ns/name"). */
  errors(object?: string): AgentErrors {
    const entries = object ? [[object, this.byObject.get(object) ?? []] as const] : [...this.byObject];
    return { objects: Object.fromEntries(entries.filter(([, e]) => e.length > 0)) };
  }
}

/** The desired state as the admin endpoint shows it; ports a full map kept out say so. */
export function wantsOf(
  node: string,
  desired: DesiredState | undefined,
  overflow: readonly Overflow[],
  appliedAt?: Date,
): AgentWants {
  const out: AgentWants = { node, ...(appliedAt ? { appliedAt: appliedAt.toISOString() } : {}), servicePorts: [] };
  if (!desired) return out;
  const skipped = new Map(overflow.map((o) => [o.svcId, o.message]));
  const bySvc = new Map<number, WantedServicePort>();
  for (const [svcId, svc] of desired.services) {
    const port: WantedServicePort = {
      servicePort: serviceInfoName(svc),
      svcId,
      port: svc.port,
      frontends: [],
      sets: {},
      backends: {},
    };
    if (svc.lbAlgorithm === 'maglev') port.maglev = true;
    const why = skipped.get(svcId);
    if (why) port.notProgrammed = why;
    bySvc.set(svcId, port);
  }
  for (const fe of desired.frontends) {
    const port = bySvc.get(fe.svcId);
    if (!port) continue;
    const k = fe.key;
    port.frontends.push({
      address: `${k.addr}:${k.port}`,
      protocol: PROTO[k.proto] ?? String(k.proto),
      scope: k.scope === SCOPE_EXTERNAL ? 'external' : 'internal',
      setId: fe.setId,
    });
    if (port.sets[fe.setId]) continue;
    const members = desired.sets.get(fe.setId) ?? [];
    port.sets[fe.setId] = port.maglev ? [...new Set(members)].sort((a, b) => a - b) : members;
    for (const id of members) {
      const be = desired.backends.get(id);
      if (be) port.backends[id] = `${be.addr}:${be.port}`;
    }
  }
  out.servicePorts = [...bySvc.values()];
  return out;
}

/** Does "ns/name:port/PROTO" belong to the Service "ns/name"? */
const ofService = (servicePort: string, service: string) => servicePort.startsWith(`${service}:`);

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

export function adminHandler(wants: () => AgentWants, errors: ErrorLog) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://admin');
    if (req.method !== 'GET') send(res, 405, { error: 'read only: GET /v1/wants or /v1/errors' });
    else if (url.pathname === '/v1/wants') {
      const all = wants();
      const service = url.searchParams.get('service');
      if (service) all.servicePorts = all.servicePorts.filter((p) => ofService(p.servicePort, service));
      send(res, 200, all);
    } else if (url.pathname === '/v1/errors')
      send(res, 200, errors.errors(url.searchParams.get('object') ?? undefined));
    else send(res, 404, { error: 'not found; try /v1/wants or /v1/errors' });
  };
}

/** The admin server on a unix socket (mode 0600). A stale socket from a killed agent is replaced:
 *  the socket belongs to whoever owns the pin directory, the latest agent started on it. */
export class AdminServer {
  private server: Server | undefined;
  /** The socket's inode: a successor on the same pin dir may have replaced the file by now. */
  private inode: number | undefined;

  constructor(
    readonly path: string,
    private readonly handler: (req: IncomingMessage, res: ServerResponse) => void,
    private readonly log?: Logger,
  ) {}

  async start(): Promise<void> {
    // Bound under a name of its own, then renamed into place: a closing server unlinks the name it
    // bound, so an old agent stopping after its successor started never removes the new socket.
    const bound = `${this.path}.${process.pid}.${Math.random().toString(36).slice(2, 8)}`;
    try {
      mkdirSync(this.path.replace(/\/[^/]+$/, ''), { recursive: true, mode: 0o755 });
      const server = createServer(this.handler);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(bound, () => resolve());
      });
      chmodSync(bound, 0o600);
      renameSync(bound, this.path);
      this.inode = statSync(this.path).ino;
      this.server = server;
      this.log?.info({ socket: this.path }, 'admin endpoint listening');
    } catch (err) {
      rmSync(bound, { force: true });
      // The data path does not need it: say so and carry on.
      this.log?.error({ socket: this.path, err: (err as Error).message }, 'admin endpoint cannot listen');
    }
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    if (statSync(this.path, { throwIfNoEntry: false })?.ino === this.inode) rmSync(this.path, { force: true });
  }
}
