// The troubleshooting checklist's checks that read the same things wherever they run: the
// Service, its EndpointSlices, the pods it selects (as the API has them) and the node's pinned
// maps. `switchyard diagnose` uses them on a node (diagnose-node.ts) and in the lab
// (src/lab/lab-diagnose*.ts), each adding what only it can look at.
import type { MapContents } from '../inspect/views.js';
import { askAgent, errorsFor } from './agent-client.js';
import { agentDrift } from './agent-drift.js';
import { explain } from './explain.js';

export interface Check {
  /** note: information, not a verdict; skip: cannot be checked here (detail says why). */
  status: 'ok' | 'fail' | 'note' | 'skip';
  title: string;
  detail?: string;
  fix?: string;
}
export type Raw = Record<string, unknown>;
/** A Service or EndpointSlice as the API serves it (only what the checks read). */
export interface ApiObject {
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}
export interface PodFacts {
  name: string;
  namespace: string;
  labels: Record<string, string>;
}

export const ok = (title: string, detail?: string): Check => ({ status: 'ok', title, detail });
export const fail = (title: string, detail: string, fix: string): Check => ({ status: 'fail', title, detail, fix });
export const skip = (title: string, why: string): Check => ({ status: 'skip', title, detail: why });

export const PING_NOTE: Check = {
  status: 'note',
  title: 'ping to a cluster IP is not expected to answer',
  detail: 'a cluster IP is a (address, port, protocol) frontend, not a host: test with the Service port instead',
};

const MARK: Record<Check['status'], string> = { ok: '✓', fail: '✗', note: '·', skip: '–' };

/** ✓/✗ lines, each ✗ followed by what to do. */
export function renderChecks(checks: Check[]): string {
  return checks
    .map((c) => {
      const detail = c.detail ? `: ${c.status === 'skip' ? 'skipped, ' : ''}${c.detail}` : '';
      return `${MARK[c.status]} ${c.title}${detail}\n${c.fix ? `    → ${c.fix}\n` : ''}`;
    })
    .join('');
}

/** "name" (namespace default) or "ns/name". */
export function serviceKey(query: string): { namespace: string; name: string } {
  const [namespace, name] = query.includes('/') ? query.split('/', 2) : ['default', query];
  return { namespace, name };
}

export function findService(services: ApiObject[], query: string): ApiObject | undefined {
  const { namespace, name } = serviceKey(query);
  return services.find((s) => s.metadata.name === name && (s.metadata.namespace || 'default') === namespace);
}

/** The Service exists and has a cluster IP to proxy (a ✗ here ends the checklist). */
export function serviceCheck(svc: ApiObject | undefined, query: string, listHint: string): Check {
  if (!svc)
    return fail(
      `Service ${query} exists`,
      'the API server has no such Service',
      `check the name and namespace: ${listHint}`,
    );
  const spec = (svc.spec ?? {}) as Raw;
  const who = `${svc.metadata.namespace || 'default'}/${svc.metadata.name}`;
  if (spec.type === 'ExternalName' || !spec.clusterIP || spec.clusterIP === 'None')
    return fail(
      `Service ${who} has a cluster IP`,
      spec.type === 'ExternalName'
        ? `it is an ExternalName (a DNS alias for ${String(spec.externalName)})`
        : 'it is headless (clusterIP: None)',
      'nothing to proxy: resolve its name instead; a cluster IP needs a ClusterIP/NodePort/LoadBalancer Service',
    );
  const ports = (spec.ports as Raw[] | undefined) ?? [];
  return ok(
    `Service ${who} exists and has a cluster IP`,
    `${String(spec.clusterIP)} ports ${ports.map((p) => `${p.port}/${p.protocol ?? 'TCP'}`).join(',')}`,
  );
}

const labelText = (l: Record<string, string>) =>
  Object.entries(l)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');

/** The selector matches pods; `pods` is every pod of the namespace, or why they could not be read. */
export function selectorCheck(spec: Raw, ns: string, pods: PodFacts[] | string, sliceCount: number): Check {
  const selector = spec.selector as Record<string, string> | undefined;
  if (!selector || !Object.keys(selector).length) {
    return sliceCount
      ? ok('no selector: its endpoints come from an Endpoints object (mirrored)', `${sliceCount} slice(s)`)
      : fail(
          'the Service has a selector or Endpoints',
          'no selector and no Endpoints object',
          "add a selector matching the pods, or write a v1 Endpoints object with the Service's name",
        );
  }
  const sel = labelText(selector);
  if (typeof pods === 'string') return skip(`the selector ${sel} matches pods`, pods);
  const inNs = pods.filter((p) => p.namespace === ns);
  const matched = inNs.filter((p) => Object.entries(selector).every(([k, v]) => p.labels[k] === v));
  if (!matched.length) {
    const labels = [...new Set(inNs.map((p) => labelText(p.labels)))];
    return fail(
      `the selector ${sel} matches pods`,
      `no pod in ${ns} has these labels (pods have: ${labels.join(' | ') || 'none'})`,
      "fix the Service's selector or the pod template's labels so they agree",
    );
  }
  return ok(`the selector ${sel} matches ${matched.length} pod(s)`, matched.map((p) => p.name).join(', '));
}

export function readyEndpoints(slices: ApiObject[]): Array<{ ip: string; pod?: string }> {
  const out: Array<{ ip: string; pod?: string }> = [];
  for (const s of slices) {
    for (const e of (s.endpoints as Raw[] | undefined) ?? []) {
      if ((e.conditions as Raw | undefined)?.ready === false) continue;
      for (const a of (e.addresses as string[] | undefined) ?? [])
        out.push({ ip: a, pod: (e.targetRef as Raw | undefined)?.name as string | undefined });
    }
  }
  return out;
}

/** Whether the ready endpoints @tried answered a TCP connect on @target without the Service
 *  (the seeds' "try the pod IP directly"); @tried holds each endpoint's error, if any. */
export function directCheck(target: number, tried: Array<{ ip: string; err?: string }>): Check {
  const failed = tried.filter((x) => x.err);
  return failed.length
    ? fail(
        `the pod IPs answer directly on ${target}`,
        failed.map((x) => `${x.ip}:${target} ${x.err}`).join(', '),
        'the app is not reachable even without the Service: check it listens on the targetPort on all addresses',
      )
    : ok(`the pod IPs answer directly on ${target}`, tried.map((x) => x.ip).join(', '));
}

export function endpointsCheck(slices: ApiObject[], statusHint: string): Check {
  const ready = readyEndpoints(slices);
  if (!ready.length)
    return fail(
      'ready endpoints are present',
      'the slices hold no ready endpoint',
      `check the pods are Running and ready (${statusHint}); a pod that is not ready is left out`,
    );
  return ok(`${ready.length} ready endpoint(s)`, ready.map((e) => e.ip).join(', '));
}

/** The port asked is the Service port, not the targetPort; `target` resolves a port's targetPort. */
export function portCheck(
  spec: Raw,
  port: Raw,
  asked: number | undefined,
  target: (p: Raw) => number | undefined,
): Check {
  const ports = (spec.ports as Raw[] | undefined) ?? [];
  if (asked !== undefined && !ports.some((p) => Number(p.port) === asked)) {
    const isTarget = ports.find((p) => target(p) === asked);
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
    `port ${port.port} is the Service port`,
    `targetPort ${target(port) ?? String(port.targetPort)} is the pods' port`,
  );
}

/** The cluster IP frontend is in this node's maps, consistent. `maps` is what was read, or why not. */
export function frontendCheck(
  maps: MapContents | Error,
  service: string,
  want: string,
  node: string,
  fixes: { missing: string; drift: string },
): Check {
  const title = `the frontend ${want} is programmed on ${node}`;
  if (maps instanceof Error) return fail(title, maps.message, 'is the agent running?');
  const fe = explain(maps, service)
    .flatMap((e) => e.frontends.map((f) => ({ e, f })))
    .find(({ f }) => f.address === want && f.scope === 'internal');
  if (!fe) return fail(title, 'not in the maps', fixes.missing);
  if (fe.e.drift.length) return fail(title, fe.e.drift.join('; '), fixes.drift);
  return ok(title, `set ${fe.e.set.id} gen ${fe.e.set.gen}, ${fe.e.set.count} backend(s)`);
}

/** The Service's no-endpoint rejects in these maps (0 when unreadable: the frontend check says why). */
export function rejectsIn(read: () => MapContents, service: string): number {
  try {
    return explain(read(), service).reduce((n, e) => n + e.counters.noEndpointRejects, 0);
  } catch {
    return 0;
  }
}

/** Rising, not merely non-zero: `rose` says over what it was watched ("with the try above"),
 *  `earlier` what a non-zero steady count is not from. */
export function rejectCheck(before: number, after: number, node: string, rose: string, earlier: string): Check {
  const title = 'the no-endpoint reject counter is not rising';
  return after > before
    ? fail(
        title,
        `it rose from ${before} to ${after} ${rose} on ${node}: the data path has no backend for it`,
        "the Service has no ready endpoint on this node's maps: see the endpoints and frontend checks",
      )
    : ok(title, `${after} on ${node}${after ? ` (from earlier, not ${earlier})` : ''}`);
}

/** What the agent on this node says: it logged no error for the Service, and the maps hold what
 *  it wants for it (both skipped when it does not answer). `maps` as frontendCheck takes them. */
export async function agentChecks(url: string, service: string, maps: MapContents | Error): Promise<Check[]> {
  const title = `the agent logged no error for ${service}`;
  const driftTitle = `the maps hold what the agent wants for ${service}`;
  const answer = await askAgent(url, service);
  if (!answer.answered) {
    const why = `the agent does not answer at ${url} (${answer.why})`;
    return [skip(title, why), skip(driftTitle, why)];
  }
  const errors = errorsFor(answer.errors, service);
  const drift = maps instanceof Error ? [] : agentDrift(answer.wants.servicePorts, maps, service);
  return [
    errors.length
      ? fail(
          title,
          errors
            .slice(-3)
            .map((e) => `${e.kind} ${e.object}: ${e.field ? `${e.field}: ` : ''}${e.message}`)
            .join('; '),
          'fix the object and field it names; the agent skips what it cannot program',
        )
      : ok(title),
    drift.length
      ? fail(
          driftTitle,
          drift.join('; '),
          `\`switchyard explain ${service}\` shows each difference; the agent rewrites them at its next full ` +
            'sync or restart',
        )
      : ok(driftTitle),
  ];
}
