// The kubeconfig reader, run as a child process by kubeconfig.ts (never imported by the agent):
// client-node loads the kubeconfig or the in-cluster config and runs its auth once, and what a
// request needs comes back as plain data (ApiAccess). Reads {connections, pathPrefix} as JSON on
// stdin, writes {answers} as JSON on stdout, one answer per connection, and exits.
import { isIP } from 'node:net';
import type { KubeConfig } from '@kubernetes/client-node';
import { type ApiAccess, type ChildAnswer, DEFAULT_APISERVER_PORT, type KubeConnection } from './kubeconfig.js';

/** What a request needs of @kc, with the Authorization its auth provider computes now. */
async function accessOf(kc: KubeConfig, where: string): Promise<ApiAccess> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error(`${where}: no current cluster (check current-context)`);
  if (cluster.proxyUrl) throw new Error(`${where}: proxy-url is not supported`);
  // The same options client-node's own requests get (https.RequestOptions plus headers).
  const opts: Record<string, any> = {};
  try {
    await kc.applyToHTTPSOptions(opts);
  } catch (err) {
    throw new Error(`${where}: ${(err as Error).message.split('\n')[0]}`);
  }
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries((opts.headers ?? {}) as Record<string, unknown>))
    if (typeof v === 'string' || typeof v === 'number') headers[k] = String(v);
  if (opts.auth) headers.Authorization = `Basic ${Buffer.from(String(opts.auth)).toString('base64')}`;
  const text = (b: unknown) => (b === undefined || b === null ? undefined : Buffer.from(b as Buffer).toString('utf8'));
  const user = kc.getCurrentUser();
  const tokenFile = user?.authProvider?.name === 'tokenFile' ? user.authProvider.config?.tokenFile : undefined;
  return {
    server: cluster.server.replace(/\/+$/, ''),
    ca: text(opts.ca),
    cert: text(opts.cert),
    key: text(opts.key),
    tlsServerName: cluster.tlsServerName,
    skipTLSVerify: cluster.skipTLSVerify ? true : undefined,
    headers,
    tokenFile: typeof tokenFile === 'string' ? tokenFile : undefined,
  };
}

/** @kc's current cluster moved to the --apiserver-host/--apiserver-port of @source. */
function override(kc: KubeConfig, source: KubeConnection, where: string): void {
  const cluster = kc.getCurrentCluster();
  if (!cluster || (source.apiserverHost === undefined && source.apiserverPort === undefined)) return;
  let url: URL;
  try {
    url = new URL(cluster.server);
  } catch {
    throw new Error(`${where}: server "${cluster.server}" is not a URL`);
  }
  // Built by hand: URL drops a scheme's default port, and the port is what we mean to show.
  let host = url.hostname;
  let port = url.port || (url.protocol === 'http:' ? '80' : '443');
  if (source.apiserverHost !== undefined) {
    host = isIP(source.apiserverHost) === 6 ? `[${source.apiserverHost}]` : source.apiserverHost;
    if (!source.kubeconfig) port = String(DEFAULT_APISERVER_PORT);
  }
  if (source.apiserverPort !== undefined) port = String(source.apiserverPort);
  const server = `${url.protocol}//${host}:${port}`;
  const tlsServerName = cluster.tlsServerName ?? (source.kubeconfig ? undefined : 'kubernetes.default.svc');
  kc.clusters = kc.clusters.map((c) =>
    c.name === cluster.name ? { ...c, server, ...(tlsServerName ? { tlsServerName } : {}) } : c,
  );
}

async function answer(source: KubeConnection, pathPrefix: string): Promise<ChildAnswer> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  const where = source.kubeconfig ? `--kubeconfig "${source.kubeconfig}"` : 'in-cluster config';
  try {
    if (source.kubeconfig) kc.loadFromFile(source.kubeconfig);
    else kc.loadFromCluster(pathPrefix);
  } catch (err) {
    return { error: `${where}: cannot load: ${(err as Error).message.split('\n')[0]}` };
  }
  try {
    override(kc, source, where);
    return { access: await accessOf(kc, where) };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

// stdout carries the answer alone: whatever a library logs goes to stderr (the agent's, inherited).
console.log = console.info = console.debug = console.error;
const chunks: Buffer[] = [];
for await (const c of process.stdin) chunks.push(c as Buffer);
const { connections, pathPrefix } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
  connections: KubeConnection[];
  pathPrefix: string;
};
const answers: ChildAnswer[] = [];
for (const c of connections) answers.push(await answer(c, pathPrefix ?? ''));
process.stdout.write(JSON.stringify({ answers }));
