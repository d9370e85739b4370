// `switchyard diagnose SERVICE [--from POD] [--port PORT]` on a lab: the seeds' troubleshooting
// checklist, automated. Each check looks where a person would (the API, the pods, the maps of
// the client's node, the client's namespace) and says ✓, or ✗ with what to do.
import type { KubeObject } from '../fakeapi/server.js';
import { resolveTargetPort, selects } from './lab-objects.js';
import type { PodState } from './lab-state.js';
import type { Lab } from './lab.js';
import {
  dnsCheck,
  endToEnd,
  fail,
  nodeChecks,
  ok,
  podChecks,
  readyEndpoints,
  rejectCheck,
  rejectsNow,
  type Check,
  type Ctx,
  type Raw,
} from './lab-diagnose-net.js';

export type { Check } from './lab-diagnose-net.js';

function findService(services: KubeObject[], name: string): KubeObject | undefined {
  const [ns, n] = name.includes('/') ? name.split('/', 2) : ['default', name];
  return services.find((s) => s.metadata.name === n && (s.metadata.namespace || 'default') === ns);
}

function clientOf(lab: Lab, from?: string): PodState {
  if (from) {
    const byDep = Object.values(lab.st.pods).find((p) => p.deployment === from && p.ready);
    return lab.st.pods[from] ?? byDep ?? lab.pod(from);
  }
  const pod =
    Object.values(lab.st.pods).find((p) => p.deployment === 'client' && p.ready) ??
    Object.values(lab.st.pods).find((p) => p.ready);
  if (!pod) throw new Error('no ready pod to diagnose from; give --from POD');
  return pod;
}

export async function diagnose(
  lab: Lab,
  service: string,
  opts: { from?: string; port?: number } = {},
): Promise<Check[]> {
  const checks: Check[] = [];
  const services = await lab.api.list('Service');
  const svc = findService(services, service);
  if (!svc) {
    return [
      fail(
        `Service ${service} exists`,
        'the API server has no such Service',
        `check the name and namespace: \`switchyard lab status\` lists the Services`,
      ),
    ];
  }
  const spec = (svc.spec ?? {}) as Raw;
  const ns = svc.metadata.namespace || 'default';
  const ports = (spec.ports as Raw[] | undefined) ?? [];
  if (spec.type === 'ExternalName' || !spec.clusterIP || spec.clusterIP === 'None') {
    checks.push(
      fail(
        `Service ${ns}/${svc.metadata.name} has a cluster IP`,
        spec.type === 'ExternalName'
          ? `it is an ExternalName (a DNS alias for ${String(spec.externalName)})`
          : 'it is headless (clusterIP: None)',
        'nothing to proxy: resolve its name instead; a cluster IP needs a ClusterIP/NodePort/LoadBalancer Service',
      ),
    );
    return checks;
  }
  checks.push(
    ok(
      `Service ${ns}/${svc.metadata.name} exists and has a cluster IP`,
      `${String(spec.clusterIP)} ports ${ports.map((p) => `${p.port}/${p.protocol ?? 'TCP'}`).join(',')}`,
    ),
  );
  const asked = opts.port;
  const port = ports.find((p) => Number(p.port) === asked) ?? ports[0];
  const slices = (await lab.api.list('EndpointSlice')).filter(
    (s) => s.metadata.namespace === ns && s.metadata.labels?.['kubernetes.io/service-name'] === svc.metadata.name,
  );
  const ctx: Ctx = { lab, svc, spec, ns, client: clientOf(lab, opts.from), port, slices };
  checks.push(selectorCheck(ctx), endpointsCheck(ctx), portCheck(ctx, asked));
  checks.push(...nodeChecks(ctx), ...podChecks(ctx), dnsCheck(ctx));
  // Rising, not merely non-zero: the counter around the end-to-end try says whether it is rejected now.
  const before = rejectsNow(ctx);
  checks.push(endToEnd(ctx), rejectCheck(ctx, before, rejectsNow(ctx)));
  checks.push({
    status: 'note',
    title: 'ping to a cluster IP is not expected to answer',
    detail: 'a cluster IP is a (address, port, protocol) frontend, not a host: test with the Service port instead',
  });
  return checks;
}

function selectorCheck(c: Ctx): Check {
  const selector = c.spec.selector as Record<string, string> | undefined;
  if (!selector || !Object.keys(selector).length) {
    return c.slices.length
      ? ok('no selector: its endpoints come from an Endpoints object (mirrored)', `${c.slices.length} slice(s)`)
      : fail(
          'the Service has a selector or Endpoints',
          'no selector and no Endpoints object',
          "add a selector matching the pods, or write a v1 Endpoints object with the Service's name",
        );
  }
  const pods = Object.values(c.lab.st.pods).filter((p) => p.namespace === c.ns && selects(selector, p.labels));
  const sel = Object.entries(selector)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  if (!pods.length) {
    const labels = [
      ...new Set(
        Object.values(c.lab.st.pods)
          .filter((p) => p.namespace === c.ns)
          .map((p) =>
            Object.entries(p.labels)
              .map(([k, v]) => `${k}=${v}`)
              .join(','),
          ),
      ),
    ];
    return fail(
      `the selector ${sel} matches pods`,
      `no pod in ${c.ns} has these labels (pods have: ${labels.join(' | ') || 'none'})`,
      "fix the Service's selector or the pod template's labels so they agree",
    );
  }
  return ok(`the selector ${sel} matches ${pods.length} pod(s)`, pods.map((p) => p.name).join(', '));
}

function endpointsCheck(c: Ctx): Check {
  const ready = readyEndpoints(c);
  if (!ready.length)
    return fail(
      'ready endpoints are present',
      'the slices hold no ready endpoint',
      'check the pods are Running and ready (`switchyard lab status`); a pod that is not ready is left out',
    );
  return ok(`${ready.length} ready endpoint(s)`, ready.map((e) => e.ip).join(', '));
}

function portCheck(c: Ctx, asked?: number): Check {
  const ports = (c.spec.ports as Raw[] | undefined) ?? [];
  const target = resolveTargetPort(c.port);
  if (asked !== undefined && !ports.some((p) => Number(p.port) === asked)) {
    const isTarget = ports.find((p) => resolveTargetPort(p) === asked);
    return fail(
      `port ${asked} is a Service port`,
      isTarget
        ? `${asked} is the targetPort (the pods' port) of Service port ${isTarget.port}`
        : `the Service's ports are ${ports.map((p) => p.port).join(', ')}`,
      `connect to the cluster IP on the Service port${isTarget ? ` ${isTarget.port}` : ''}; the targetPort is ` +
        `for the pod IPs`,
    );
  }
  return ok(
    `port ${c.port.port} is the Service port`,
    `targetPort ${target ?? String(c.port.targetPort)} is the pods' port`,
  );
}
