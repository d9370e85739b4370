// The agent's HTTP client for the API server: GET requests over node:http(s) with what
// kubeconfig.ts resolved (ApiAccess: TLS material, headers), one keep-alive agent per connection,
// shared by every informer of that connection. node:https rather than fetch: Node's fetch takes
// a CA or a client certificate only through undici's Agent, which Node does not expose.
//
// Credentials that change while the agent runs:
// - The in-cluster token file (a projected ServiceAccount token the kubelet rotates): re-read at
//   most once a minute, as client-go and client-node do, and at once after a 401. A file read, no
//   child process.
// - Everything else (exec plugins, OIDC, a kubeconfig rewritten on disk): loaded again, in the
//   kubeconfig child, when the API server answers 401, and the request retried once with the new
//   credentials. Not on a timer: every load is a child process (~110 MiB of RSS of its own and
//   ~0.8 s of CPU while it runs), and nothing but the 401 tells the agent that such a credential
//   expired (client-go refreshes an exec credential on a 401 too, or at its expirationTimestamp,
//   which client-node does not hand out). At most one load per minReloadMs, so a server that
//   keeps saying 401 does not get a child per request; concurrent 401s share one load.
import { type Agent as HttpAgent, type IncomingMessage, Agent as PlainAgent, request as httpRequest } from 'node:http';
import { Agent as TlsAgent, request as httpsRequest } from 'node:https';
import { readFileSync } from 'node:fs';
import type { ApiAccess } from './kubeconfig.js';

/** An error with the HTTP status, when there was a response. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly statusCode?: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface ApiClientOptions {
  /** Loads the access again (after a 401); without it a 401 is final. */
  reload?: () => Promise<ApiAccess>;
  /** The least time between two reloads. Default 30 000. */
  minReloadMs?: number;
  /** How long a read of the token file is used. Default 60 000 (client-go's). */
  tokenFileMs?: number;
}

const sameTls = (a: ApiAccess, b: ApiAccess) =>
  a.server === b.server &&
  a.ca === b.ca &&
  a.cert === b.cert &&
  a.key === b.key &&
  a.tlsServerName === b.tlsServerName &&
  a.skipTLSVerify === b.skipTLSVerify;

function agentFor(a: ApiAccess): HttpAgent {
  if (a.server.startsWith('http:')) return new PlainAgent({ keepAlive: true });
  return new TlsAgent({
    keepAlive: true,
    ca: a.ca,
    cert: a.cert,
    key: a.key,
    servername: a.tlsServerName,
    ...(a.skipTLSVerify ? { rejectUnauthorized: false } : {}),
  });
}

export class ApiClient {
  private agent: HttpAgent;
  private loadedAt = Date.now();
  private reloading?: Promise<void>;
  private token?: { value: string; readAt: number };
  /** How many times the access was loaded again (for tests and logs). */
  reloads = 0;

  constructor(
    private access: ApiAccess,
    private readonly opts: ApiClientOptions = {},
  ) {
    this.agent = agentFor(access);
  }

  /** The server URL requests go to. */
  get server(): string {
    return this.access.server;
  }

  /**
   * GET @path with @query. Resolves with the response once its headers are in, whatever the status
   * (after one retry on 401 with reloaded credentials); the caller reads or drains the body.
   * @accept: the Accept header, application/json unless given.
   */
  async get(
    path: string,
    query: Record<string, string | undefined>,
    signal?: AbortSignal,
    accept?: string,
  ): Promise<IncomingMessage> {
    const used = this.access;
    const res = await this.send(path, query, signal, accept);
    if (res.statusCode !== 401 || !(await this.renew(used))) return res;
    res.resume();
    return this.send(path, query, signal, accept);
  }

  /**
   * One GET. A keep-alive connection the server closed while it sat idle (its keepAliveTimeout,
   * 5 s for Node's own servers) fails the request sent on it with ECONNRESET before any answer:
   * that request is sent once more, on a new connection, as Node's documentation advises. At
   * 50,000 Services the first full sync blocks the event loop for seconds, long enough for this to
   * hit the watch that follows the list, and it cost a relist and a full sync.
   */
  private send(
    path: string,
    query: Record<string, string | undefined>,
    signal?: AbortSignal,
    accept = 'application/json',
    retried = false,
  ): Promise<IncomingMessage> {
    const url = new URL(this.access.server + path);
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') url.searchParams.set(k, v);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const headers = { Accept: accept, ...this.access.headers, ...this.tokenHeader() };
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = send(url, { method: 'GET', headers, agent: this.agent, signal }, resolve);
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (!retried && req.reusedSocket && err.code === 'ECONNRESET')
          this.send(path, query, signal, accept, true).then(resolve, reject);
        else reject(err);
      });
      req.end();
    });
  }

  /** The in-cluster token as the file says now (read at most every tokenFileMs). */
  private tokenHeader(): Record<string, string> {
    const file = this.access.tokenFile;
    if (!file) return {};
    if (!this.token || Date.now() - this.token.readAt > (this.opts.tokenFileMs ?? 60_000)) this.readToken(file);
    return this.token ? { Authorization: `Bearer ${this.token.value}` } : {};
  }

  /** Reads the token file; true when it says something else than before. */
  private readToken(file: string): boolean {
    try {
      const value = readFileSync(file, 'utf8').trim();
      const changed = value !== this.token?.value;
      this.token = { value, readAt: Date.now() };
      return changed;
    } catch {
      return false; // unreadable for a moment (the kubelet swaps a symlink): keep what was read
    }
  }

  /** After a 401 of a request sent with @used: true when there is something new to retry with
   *  (the token file changed, or the access was loaded again). */
  private async renew(used: ApiAccess): Promise<boolean> {
    if (this.access !== used) return true; // loaded again meanwhile
    if (used.tokenFile && this.readToken(used.tokenFile)) return true;
    const { reload } = this.opts;
    if (!reload) return false;
    if (!this.reloading) {
      if (Date.now() - this.loadedAt < (this.opts.minReloadMs ?? 30_000)) return false;
      this.reloading = reload()
        .then((next) => {
          // Open requests (watches) keep the old agent's connections until they end.
          if (!sameTls(next, this.access)) this.agent = agentFor(next);
          this.access = next;
          this.token = undefined;
          this.loadedAt = Date.now();
          this.reloads++;
        })
        .finally(() => (this.reloading = undefined));
    }
    await this.reloading;
    return true;
  }
}
