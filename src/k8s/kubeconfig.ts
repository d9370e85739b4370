// Where the API server is and how to reach it: the kubeconfig file or the in-cluster config, with
// the agent's --apiserver-host/--apiserver-port on top. Kept with the Kubernetes client (not with
// the agent's flag table) so every user of src/k8s opens the connection the same way.
import { isIP } from 'node:net';
import type { KubeConfig } from '@kubernetes/client-node';

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

/** The API server connection: the kubeconfig file or the in-cluster config, then the
 *  --apiserver-host/--apiserver-port override. In a cluster the in-cluster address is the
 *  `kubernetes` Service's ClusterIP, which only works once a service proxy (we) runs; the
 *  override keeps TLS verification by asking for the name every API server certificate carries. */
export async function loadKubeConfig(source: KubeConnection, pathPrefix = ''): Promise<KubeConfig> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  const where = source.kubeconfig ? `--kubeconfig "${source.kubeconfig}"` : 'in-cluster config';
  try {
    if (source.kubeconfig) kc.loadFromFile(source.kubeconfig);
    else kc.loadFromCluster(pathPrefix);
  } catch (err) {
    throw new KubeConfigError(`${where}: cannot load: ${(err as Error).message.split('\n')[0]}`);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new KubeConfigError(`${where}: no current cluster (check current-context)`);
  if (source.apiserverHost === undefined && source.apiserverPort === undefined) return kc;
  let url: URL;
  try {
    url = new URL(cluster.server);
  } catch {
    throw new KubeConfigError(`${where}: server "${cluster.server}" is not a URL`);
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
  return kc;
}

/** The current cluster's server URL, as the client will use it. */
export function serverOf(kc: KubeConfig): string {
  return kc.getCurrentCluster()?.server ?? '';
}

/**
 * The two ways to the API server when --apiserver-host is given. `bootstrap` is the flag's
 * address, which works before any Service does. `service` is the kubeconfig's (or in-cluster)
 * own server when it is an IPv4 address with a port other than the bootstrap's: in a cluster the
 * `kubernetes` ClusterIP, which socket LB can serve once the Service is programmed (the agent
 * moves its connection there: src/agent/api-route.ts). `noService` says why there is none.
 */
export interface ApiRoutes {
  bootstrap: KubeConfig;
  service?: { kubeConfig: KubeConfig; addr: string; port: number };
  noService?: string;
}

export async function loadApiRoutes(source: KubeConnection, pathPrefix = ''): Promise<ApiRoutes> {
  const bootstrap = await loadKubeConfig(source, pathPrefix);
  if (source.apiserverHost === undefined) return { bootstrap, noService: 'no --apiserver-host: one address only' };
  const own = await loadKubeConfig({ kubeconfig: source.kubeconfig }, pathPrefix);
  const server = serverOf(own);
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    return { bootstrap, noService: `server "${server}" is not a URL` };
  }
  if (isIP(url.hostname) !== 4) return { bootstrap, noService: `server "${server}" is not an IPv4 address` };
  if (server === serverOf(bootstrap)) return { bootstrap, noService: `server "${server}" is the bootstrap address` };
  const port = Number(url.port || (url.protocol === 'http:' ? 80 : 443));
  return { bootstrap, service: { kubeConfig: own, addr: url.hostname, port } };
}
