// `switchyard diagnose SERVICE [--from POD] [--port PORT]` on a lab: the seeds' troubleshooting
// checklist, automated. Each check looks where a person would (the API, the pods, the maps of
// the client's node, the client's namespace) and says ✓, or ✗ with what to do. The checks a node
// runs too are shared (src/explain/checks.ts); the lab adds ss in the pods, DNS and a real try.
import type { KubeObject } from '../fakeapi/server.js';
import {
  agentChecks,
  endpointsCheck,
  findService,
  PING_NOTE,
  portCheck,
  selectorCheck,
  serviceCheck,
  type Check,
  type Raw,
} from '../explain/checks.js';
import { defaultAgentUrl } from '../explain/agent-client.js';
import { readPinnedMaps } from '../inspect/read.js';
import type { MapContents } from '../inspect/views.js';
import { resolveTargetPort } from './lab-objects.js';
import type { PodState } from './lab-state.js';
import type { Lab } from './lab.js';
import { dnsCheck, endToEnd, nodeChecks, podChecks, rejectCheck, rejectsNow, type Ctx } from './lab-diagnose-net.js';

export type { Check } from '../explain/checks.js';

function readMaps(pinDir: string): MapContents | Error {
  try {
    return readPinnedMaps(pinDir);
  } catch (err) {
    return err as Error;
  }
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
  const svc = findService(await lab.api.list('Service'), service) as KubeObject | undefined;
  const exists = serviceCheck(svc, service, '`switchyard lab status` lists the Services');
  if (!svc || exists.status === 'fail') return [exists];
  const checks: Check[] = [exists];
  const spec = (svc.spec ?? {}) as Raw;
  const ns = svc.metadata.namespace || 'default';
  const ports = (spec.ports as Raw[] | undefined) ?? [];
  const asked = opts.port;
  const port = ports.find((p) => Number(p.port) === asked) ?? ports[0];
  const slices = (await lab.api.list('EndpointSlice')).filter(
    (s) => s.metadata.namespace === ns && s.metadata.labels?.['kubernetes.io/service-name'] === svc.metadata.name,
  );
  const ctx: Ctx = { lab, svc, spec, ns, client: clientOf(lab, opts.from), port, slices };
  const pods = Object.values(lab.st.pods).map((p) => ({ name: p.name, namespace: p.namespace, labels: p.labels }));
  checks.push(
    selectorCheck(spec, ns, pods, slices.length),
    endpointsCheck(slices, '`switchyard lab status`'),
    portCheck(spec, port, asked, resolveTargetPort),
  );
  const { pinDir } = lab.st.agents[ctx.client.node];
  checks.push(
    ...nodeChecks(ctx),
    ...(await agentChecks(defaultAgentUrl(pinDir), `${ns}/${svc.metadata.name}`, readMaps(pinDir))),
  );
  checks.push(...podChecks(ctx), dnsCheck(ctx));
  // Rising, not merely non-zero: the counter around the end-to-end try says whether it is rejected now.
  const before = rejectsNow(ctx);
  checks.push(endToEnd(ctx), rejectCheck(ctx, before, rejectsNow(ctx)), PING_NOTE);
  return checks;
}
