// What `lab apply/delete/scale/kill-pod` change: Services, EndpointSlices and Nodes go to the API
// server (Services get a ClusterIP and NodePorts allocated first, as the real one does);
// Deployments and pods are the lab's own state. Each command ends with the controllers' pass.
import type { KubeObject } from '../fakeapi/server.js';
import type { ApiKind } from '../model/kinds.js';
import { allocateService, parseDeployment, type ManifestDoc } from './lab-objects.js';
import { LabError } from './lab-state.js';
import { stampFamilies } from './dualstack-objects.js';
import { depKey, destroyPod, reconcile } from './controllers/deployment.js';
import type { Lab } from './lab.js';

/** `lab apply -f`: Deployments into the lab, the rest into the API server, then reconcile. */
export async function applyDocs(lab: Lab, docs: ManifestDoc[]): Promise<void> {
  const services = await lab.api.list('Service');
  const deployments = docs.filter((d) => d.object.kind === 'Deployment').map(parseDeployment);
  for (const d of docs) {
    const o = d.object;
    if (o.kind === 'Deployment') continue;
    let out: KubeObject = o;
    if (o.kind === 'Service') {
      try {
        out = stampFamilies(allocateService(o, services), lab.st.ipFamily ?? 'ipv4');
      } catch (err) {
        throw new LabError((err as Error).message);
      }
      services.push(out);
    }
    const stored = await lab.api.apply(out);
    lab.say(
      `${o.kind.toLowerCase()}/${o.metadata.name} configured${o.kind === 'Service' ? ` (${describeService(stored)})` : ''}`,
    );
  }
  for (const dep of deployments) {
    const key = depKey(dep.namespace, dep.name);
    const prev = lab.st.deployments[key];
    lab.st.deployments[key] = dep;
    lab.say(
      `deployment/${dep.name} ${prev ? (prev.templateHash !== dep.templateHash ? `updated to ${dep.version}` : 'configured') : 'created'} (${dep.replicas} replicas, ${dep.version})`,
    );
  }
  lab.save();
  await reconcile(lab);
}

export async function deleteDocs(lab: Lab, docs: ManifestDoc[]): Promise<void> {
  for (const d of docs) {
    const o = d.object;
    if (o.kind === 'Deployment') {
      const gone = delete lab.st.deployments[depKey(o.metadata.namespace || 'default', o.metadata.name)];
      lab.say(`deployment/${o.metadata.name} ${gone ? 'deleted' : 'not found'}`);
      continue;
    }
    const gone = await lab.api.delete(o.kind as ApiKind, o.metadata.namespace || 'default', o.metadata.name);
    lab.say(`${o.kind.toLowerCase()}/${o.metadata.name} ${gone ? 'deleted' : 'not found'}`);
  }
  lab.save();
  await reconcile(lab);
}

export async function scale(lab: Lab, name: string, replicas: number): Promise<void> {
  if (!Number.isInteger(replicas) || replicas < 0 || replicas > 50)
    throw new LabError(`--replicas: expected 0..50 (got ${replicas})`);
  const dep = lab.deployment(name);
  lab.say(`deployment/${dep.name} scaled from ${dep.replicas} to ${replicas}`);
  dep.replicas = replicas;
  lab.save();
  await reconcile(lab);
}

/** Deletes a pod as `kubectl delete pod` does: it is taken out of the slices as terminating,
 *  the agents sync, then it stops; its Deployment gets a replacement meanwhile. `now` skips the
 *  grace: the pod vanishes at once, like a crash, and the slices follow. */
export async function killPod(lab: Lab, name: string, opts: { now?: boolean } = {}): Promise<void> {
  const pod = lab.pod(name);
  pod.phase = 'Terminating';
  if (opts.now) {
    await destroyPod(lab, pod);
    lab.say(`pod/${name} killed`);
  } else {
    lab.say(`pod/${name} terminating`);
  }
  lab.save();
  await reconcile(lab, { now: opts.now });
}

export function describeService(s: KubeObject): string {
  const spec = (s.spec ?? {}) as {
    type?: string;
    clusterIP?: string;
    externalName?: string;
    ports?: Array<{ port: number; nodePort?: number; protocol?: string }>;
  };
  const type = spec.type ?? 'ClusterIP';
  if (type === 'ExternalName') return `ExternalName → ${spec.externalName}`;
  const ports = (spec.ports ?? [])
    .map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`)
    .join(',');
  return `${type} ${spec.clusterIP ?? '-'} ${ports}`;
}
