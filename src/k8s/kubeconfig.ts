// Where the API server is and how to reach it: the kubeconfig file or the in-cluster config, with
// the agent's --apiserver-host/--apiserver-port on top. Kept with the Kubernetes client (not with
// the agent's flag table) so every user of src/k8s opens the connection the same way.
//
// client-node reads the kubeconfig and runs its auth (certificates, tokens, token files, exec
// plugins), but in a short-lived child process (kubeconfig-child.ts), never in the agent: its
// config module imports the whole generated API, ~65 MiB of RSS and ~25 MiB of heap that the
// agent would carry for its life for one read at start. The child hands back plain data
// (ApiAccess) and exits, and its memory goes with it. A worker thread was tried first: the
// process kept ~24 MiB of RSS after the worker had exited (more after each further one).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { fileURLToPath } from 'node:url';
import { ApiClient } from './client.js';

/** kubeadm's (and kind's) API server port: the port to use with --apiserver-host in a cluster,
 *  where the in-cluster port (KUBERNETES_SERVICE_PORT) belongs to the ClusterIP, not the server. */
export const DEFAULT_APISERVER_PORT = 6443;

/** The connection settings; without `kubeconfig` the in-cluster config is used. */
export interface KubeConnection {
  kubeconfig?: string;
  apiserverHost?: string;
  apiserverPort?: number;
}

/** A kubeconfig that cannot be used. One line naming the file (or the in-cluster config) and what
 *  is wrong; the agent turns it into exit code 2, as it does a bad flag. */
export class KubeConfigError extends Error {
  override readonly name = 'KubeConfigError';
}

/** Everything a request to the API server needs, as plain data: what client-node made of the
 *  kubeconfig (or in-cluster config) and its auth, with the --apiserver-host/-port override. */
export interface ApiAccess {
  /** e.g. https://10.96.0.1:443, without a trailing slash. */
  server: string;
  /** PEM. */
  ca?: string;
  cert?: string;
  key?: string;
  /** The name to verify the server's certificate against, when not the host of `server`. */
  tlsServerName?: string;
  /** Set only when the kubeconfig says (as client-node: otherwise NODE_TLS_REJECT_UNAUTHORIZED). */
  skipTLSVerify?: boolean;
  /** Authorization (bearer token, basic, an exec plugin's token), Impersonate-User. */
  headers: Record<string, string>;
  /** The in-cluster (projected) token's file: re-read as client-go does (see client.ts). */
  tokenFile?: string;
}

/** What the child answers for each connection asked for. */
export type ChildAnswer = { access: ApiAccess } | { error: string };

/** The child's script. Under vitest this module is the TypeScript in src/, and a child needs
 *  JavaScript: the build's copy then (make test builds first; the CLI tests spawn dist too). */
function childScript(): string {
  const here = fileURLToPath(new URL('./kubeconfig-child.js', import.meta.url));
  return existsSync(here) ? here : fileURLToPath(new URL('../../dist/k8s/kubeconfig-child.js', import.meta.url));
}

/** How long the child may take: an exec plugin that hangs must not hang the agent's start. */
const CHILD_TIMEOUT_MS = 60_000;

/** Runs the child for @connections; one answer each, in order. Rejects only when the child itself
 *  fails (no node, a crash, the timeout): a kubeconfig problem is an answer. */
async function askChild(connections: KubeConnection[], pathPrefix: string): Promise<ChildAnswer[]> {
  const child = spawn(process.execPath, [childScript()], {
    stdio: ['pipe', 'pipe', 'inherit'],
    timeout: CHILD_TIMEOUT_MS,
  });
  const out: Buffer[] = [];
  child.stdout.on('data', (d: Buffer) => out.push(d));
  child.stdin.end(JSON.stringify({ connections, pathPrefix }));
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (c, s) => resolve([c, s]));
  });
  const text = Buffer.concat(out).toString('utf8');
  if (code !== 0) throw new Error(`the kubeconfig reader exited with ${signal ?? code}: ${text.slice(0, 200)}`);
  return (JSON.parse(text) as { answers: ChildAnswer[] }).answers;
}

function accessOf(answer: ChildAnswer | undefined): ApiAccess {
  if (!answer) throw new KubeConfigError('the kubeconfig reader gave no answer');
  if ('error' in answer) throw new KubeConfigError(answer.error);
  return answer.access;
}

/** The API server connection: the kubeconfig file or the in-cluster config, then the
 *  --apiserver-host/--apiserver-port override. In a cluster the in-cluster address is the
 *  `kubernetes` Service's ClusterIP, which only works once a service proxy (we) runs; the
 *  override keeps TLS verification by asking for the name every API server certificate carries. */
export async function loadApiAccess(source: KubeConnection, pathPrefix = ''): Promise<ApiAccess> {
  return accessOf((await askChild([source], pathPrefix))[0]);
}

/** A client of the API server @source names, which loads the access again after a 401. */
export async function connect(source: KubeConnection, pathPrefix = ''): Promise<ApiClient> {
  return clientOf(await loadApiAccess(source, pathPrefix), source, pathPrefix);
}

function clientOf(access: ApiAccess, source: KubeConnection, pathPrefix: string): ApiClient {
  return new ApiClient(access, { reload: () => loadApiAccess(source, pathPrefix) });
}

/**
 * The two ways to the API server when --apiserver-host is given. `bootstrap` is the flag's
 * address, which works before any Service does. `service` is the kubeconfig's (or in-cluster)
 * own server when it is an IPv4 address with a port other than the bootstrap's: in a cluster the
 * `kubernetes` ClusterIP, which socket LB can serve once the Service is programmed (the agent
 * moves its connection there: src/agent/api-route.ts). `noService` says why there is none.
 */
export interface ApiRoutes {
  bootstrap: ApiClient;
  service?: { api: ApiClient; addr: string; port: number };
  noService?: string;
}

/** Both routes, read by one child. */
export async function loadApiRoutes(source: KubeConnection, pathPrefix = ''): Promise<ApiRoutes> {
  const overridden = source.apiserverHost !== undefined;
  const own: KubeConnection = { kubeconfig: source.kubeconfig };
  const answers = await askChild(overridden ? [source, own] : [source], pathPrefix);
  const bootstrap = clientOf(accessOf(answers[0]), source, pathPrefix);
  if (!overridden) return { bootstrap, noService: 'no --apiserver-host: one address only' };
  const access = accessOf(answers[1]);
  const { server } = access;
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    return { bootstrap, noService: `server "${server}" is not a URL` };
  }
  if (isIP(url.hostname) !== 4) return { bootstrap, noService: `server "${server}" is not an IPv4 address` };
  if (server === bootstrap.server) return { bootstrap, noService: `server "${server}" is the bootstrap address` };
  const port = Number(url.port || (url.protocol === 'http:' ? 80 : 443));
  return { bootstrap, service: { api: clientOf(access, own, pathPrefix), addr: url.hostname, port } };
}
