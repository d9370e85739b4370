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
  return `search ${namespace}.svc.cluster.local svc.cluster.local cluster.local\nnameserver ${CLUSTER_DNS}\noptions ndots:5\n`;
}

export function writePodEtc(netns: string, namespace: string): void {
  const dir = join(NETNS_ETC, netns);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'resolv.conf'), resolvConf(namespace));
}

export function removePodEtc(netns: string): void {
  rmSync(join(NETNS_ETC, netns), { recursive: true, force: true });
}
