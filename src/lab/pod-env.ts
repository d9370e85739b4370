// What a pod finds around it when it starts, as the kubelet gives it: a resolv.conf pointing at
// the cluster DNS with the Kubernetes search path, and (serviceEnv) the Services' environment
// variables. `ip netns exec NS` bind-mounts /etc/netns/NS/resolv.conf over /etc/resolv.conf, so
// every command run in the pod's namespace (the pod's process, `lab exec`) resolves through it.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const CLUSTER_DNS = '10.96.0.10';
export const NETNS_ETC = '/etc/netns';

/** The pod's resolv.conf: ndots:5 as the kubelet writes it, so short names try the search path first. */
export function resolvConf(namespace: string): string {
  return (
    `search ${namespace}.svc.cluster.local svc.cluster.local cluster.local\nnameserver ` +
    `${CLUSTER_DNS}\noptions ndots:5\n`
  );
}

export function writePodEtc(netns: string, namespace: string): void {
  const dir = join(NETNS_ETC, netns);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'resolv.conf'), resolvConf(namespace));
}

export function removePodEtc(netns: string): void {
  rmSync(join(NETNS_ETC, netns), { recursive: true, force: true });
}

type Raw = Record<string, unknown>;
interface SvcLike {
  metadata: { name: string; namespace?: string };
  spec?: unknown;
}

/**
 * The environment the kubelet gives a container for the Services of its namespace that exist when
 * it starts (pkg/kubelet/envvars): MY_NGINX_SERVICE_HOST/_PORT (+ _PORT_<NAME> per named port) and
 * the Docker-link variables MY_NGINX_PORT=tcp://IP:PORT, MY_NGINX_PORT_80_TCP{,_PROTO,_PORT,_ADDR}.
 * Services without a cluster IP (headless, ExternalName) get none. Later Services never appear:
 * that is why the seeds recommend DNS.
 */
export function serviceEnv(services: SvcLike[], namespace: string): Record<string, string> {
  const env: Record<string, string> = {};
  const mine = services
    .filter((s) => (s.metadata.namespace || 'default') === namespace)
    .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  for (const s of mine) {
    const spec = (s.spec ?? {}) as Raw;
    const ip = spec.clusterIP as string | undefined;
    if (!ip || ip === 'None' || spec.type === 'ExternalName') continue;
    const ports = ((spec.ports as Raw[] | undefined) ?? []).filter((p) => p.port !== undefined);
    if (!ports.length) continue;
    const name = s.metadata.name.toUpperCase().replace(/-/g, '_');
    env[`${name}_SERVICE_HOST`] = ip;
    env[`${name}_SERVICE_PORT`] = String(ports[0].port);
    for (const p of ports)
      if (p.name) env[`${name}_SERVICE_PORT_${String(p.name).toUpperCase().replace(/-/g, '_')}`] = String(p.port);
    const proto = (p: Raw) => String(p.protocol ?? 'TCP').toLowerCase();
    env[`${name}_PORT`] = `${proto(ports[0])}://${ip}:${ports[0].port}`;
    for (const p of ports) {
      const prefix = `${name}_PORT_${p.port}_${proto(p).toUpperCase()}`;
      env[prefix] = `${proto(p)}://${ip}:${p.port}`;
      env[`${prefix}_PROTO`] = proto(p);
      env[`${prefix}_PORT`] = String(p.port);
      env[`${prefix}_ADDR`] = ip;
    }
  }
  return env;
}
