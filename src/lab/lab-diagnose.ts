// `switchyard diagnose SERVICE [--from POD] [--port PORT]` on a lab: the seeds' troubleshooting
// checklist, automated. Each check looks where a person would (the API, the pods, the maps of
// the client's node, the client's namespace) and says ✓, or ✗ with what to do.
import { spawnSync } from 'node:child_process';
import type { KubeObject } from '../fakeapi/server.js';
import { explain } from '../explain/explain.js';
import { readPinnedMaps } from '../inspect/read.js';
import { digIn } from './lab-demo-dns.js';
import { resolveTargetPort, selects } from './lab-objects.js';
import { tcAttached } from './lab-procs.js';
import type { PodState } from './lab-state.js';
import type { Lab } from './lab.js';

export interface Check { status: 'ok' | 'fail' | 'note'; title: string; detail?: string; fix?: string }
type Raw = Record<string, unknown>;
interface Ctx { lab: Lab; svc: KubeObject; spec: Raw; ns: string; client: PodState; port: Raw; slices: KubeObject[] }

const ok = (title: string, detail?: string): Check => ({ status: 'ok', title, detail });
const fail = (title: string, detail: string, fix: string): Check => ({ status: 'fail', title, detail, fix });

/** A TCP connect from inside `ns`: undefined when it succeeded, else the error. */
function connectIn(ns: string, ip: string, port: number): string | undefined {
  const js = `const s=require('net').connect(${port},${JSON.stringify(ip)},()=>{s.destroy();process.exit(0)});`
    + `s.setTimeout(1500,()=>{console.log('timeout');process.exit(1)});s.on('error',e=>{console.log(e.code||e.message);process.exit(1)})`;
  const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, '-e', js], { encoding: 'utf8', timeout: 5000 });
  return r.status === 0 ? undefined : (r.stdout.trim() || r.stderr.trim() || 'failed');
}

/** Addresses a process in `ns` listens on for TCP `port` (from ss). */
function listenAddresses(ns: string, port: number): string[] {
  const r = spawnSync('ip', ['netns', 'exec', ns, 'ss', '-Hltn', `sport = :${port}`], { encoding: 'utf8' });
  return r.status !== 0 ? [] : r.stdout.split('\n').filter(Boolean).map((l) => l.trim().split(/\s+/)[3]?.replace(/:\d+$/, '') ?? '');
}

function findService(services: KubeObject[], name: string): KubeObject | undefined {
  const [ns, n] = name.includes('/') ? name.split('/', 2) : ['default', name];
  return services.find((s) => s.metadata.name === n && (s.metadata.namespace || 'default') === ns);
}

function clientOf(lab: Lab, from?: string): PodState {
  if (from) {
    const byDep = Object.values(lab.st.pods).find((p) => p.deployment === from && p.ready);
    return lab.st.pods[from] ?? byDep ?? lab.pod(from);
  }
  const pod = Object.values(lab.st.pods).find((p) => p.deployment === 'client' && p.ready) ?? Object.values(lab.st.pods).find((p) => p.ready);
  if (!pod) throw new Error('no ready pod to diagnose from; give --from POD');
  return pod;
}

export async function diagnose(lab: Lab, service: string, opts: { from?: string; port?: number } = {}): Promise<Check[]> {
  const checks: Check[] = [];
  const services = await lab.api.list('Service');
  const svc = findService(services, service);
  if (!svc) {
    return [fail(`Service ${service} exists`, 'the API server has no such Service', `check the name and namespace: \`switchyard lab status\` lists the Services`)];
  }
  const spec = (svc.spec ?? {}) as Raw;
  const ns = svc.metadata.namespace || 'default';
  const ports = (spec.ports as Raw[] | undefined) ?? [];
  if (spec.type === 'ExternalName' || !spec.clusterIP || spec.clusterIP === 'None') {
    checks.push(fail(`Service ${ns}/${svc.metadata.name} has a cluster IP`, spec.type === 'ExternalName' ? `it is an ExternalName (a DNS alias for ${String(spec.externalName)})` : 'it is headless (clusterIP: None)',
      'nothing to proxy: resolve its name instead; a cluster IP needs a ClusterIP/NodePort/LoadBalancer Service'));
    return checks;
  }
  checks.push(ok(`Service ${ns}/${svc.metadata.name} exists and has a cluster IP`, `${String(spec.clusterIP)} ports ${ports.map((p) => `${p.port}/${p.protocol ?? 'TCP'}`).join(',')}`));
  const asked = opts.port;
  const port = ports.find((p) => Number(p.port) === asked) ?? ports[0];
  const slices = (await lab.api.list('EndpointSlice')).filter((s) => s.metadata.namespace === ns && s.metadata.labels?.['kubernetes.io/service-name'] === svc.metadata.name);
  const ctx: Ctx = { lab, svc, spec, ns, client: clientOf(lab, opts.from), port, slices };
  checks.push(selectorCheck(ctx), endpointsCheck(ctx), portCheck(ctx, asked));
  checks.push(...nodeChecks(ctx), ...podChecks(ctx), dnsCheck(ctx));
  // Rising, not merely non-zero: the counter around the end-to-end try says whether it is rejected now.
  const before = rejectsNow(ctx);
  checks.push(endToEnd(ctx), rejectCheck(ctx, before, rejectsNow(ctx)));
  checks.push({ status: 'note', title: 'ping to a cluster IP is not expected to answer', detail: 'a cluster IP is a (address, port, protocol) frontend, not a host: test with the Service port instead' });
  return checks;
}

function selectorCheck(c: Ctx): Check {
  const selector = c.spec.selector as Record<string, string> | undefined;
  if (!selector || !Object.keys(selector).length) {
    return c.slices.length ? ok('no selector: its endpoints come from an Endpoints object (mirrored)', `${c.slices.length} slice(s)`)
      : fail('the Service has a selector or Endpoints', 'no selector and no Endpoints object', 'add a selector matching the pods, or write a v1 Endpoints object with the Service\'s name');
  }
  const pods = Object.values(c.lab.st.pods).filter((p) => p.namespace === c.ns && selects(selector, p.labels));
  const sel = Object.entries(selector).map(([k, v]) => `${k}=${v}`).join(',');
  if (!pods.length) {
    const labels = [...new Set(Object.values(c.lab.st.pods).filter((p) => p.namespace === c.ns).map((p) => Object.entries(p.labels).map(([k, v]) => `${k}=${v}`).join(',')))];
    return fail(`the selector ${sel} matches pods`, `no pod in ${c.ns} has these labels (pods have: ${labels.join(' | ') || 'none'})`, 'fix the Service\'s selector or the pod template\'s labels so they agree');
  }
  return ok(`the selector ${sel} matches ${pods.length} pod(s)`, pods.map((p) => p.name).join(', '));
}

function readyEndpoints(c: Ctx): Array<{ ip: string; pod?: string }> {
  const out: Array<{ ip: string; pod?: string }> = [];
  for (const s of c.slices) {
    for (const e of (s.endpoints as Raw[] | undefined) ?? []) {
      if ((e.conditions as Raw | undefined)?.ready === false) continue;
      for (const a of (e.addresses as string[] | undefined) ?? []) out.push({ ip: a, pod: (e.targetRef as Raw | undefined)?.name as string | undefined });
    }
  }
  return out;
}

function endpointsCheck(c: Ctx): Check {
  const ready = readyEndpoints(c);
  if (!ready.length) return fail('ready endpoints are present', 'the slices hold no ready endpoint', 'check the pods are Running and ready (`switchyard lab status`); a pod that is not ready is left out');
  return ok(`${ready.length} ready endpoint(s)`, ready.map((e) => e.ip).join(', '));
}

function portCheck(c: Ctx, asked?: number): Check {
  const ports = (c.spec.ports as Raw[] | undefined) ?? [];
  const target = resolveTargetPort(c.port);
  if (asked !== undefined && !ports.some((p) => Number(p.port) === asked)) {
    const isTarget = ports.find((p) => resolveTargetPort(p) === asked);
    return fail(`port ${asked} is a Service port`, isTarget ? `${asked} is the targetPort (the pods' port) of Service port ${isTarget.port}` : `the Service's ports are ${ports.map((p) => p.port).join(', ')}`,
      `connect to the cluster IP on the Service port${isTarget ? ` ${isTarget.port}` : ''}; the targetPort is for the pod IPs`);
  }
  return ok(`port ${c.port.port} is the Service port`, `targetPort ${target ?? String(c.port.targetPort)} is the pods' port`);
}

function nodeChecks(c: Ctx): Check[] {
  const node = c.lab.node(c.client.node);
  const agent = c.lab.st.agents[node.name];
  const out: Check[] = [];
  const want = `${String(c.spec.clusterIP)}:${c.port.port}`;
  try {
    const found = explain(readPinnedMaps(agent.pinDir), `${c.ns}/${c.svc.metadata.name}`);
    const fe = found.flatMap((e) => e.frontends.map((f) => ({ e, f }))).find(({ f }) => f.address === want && f.scope === 'internal');
    if (!fe) out.push(fail(`the frontend ${want} is programmed on ${node.name}`, `not in the maps in ${agent.pinDir}`, `check the agent on ${node.name} (\`switchyard lab status\`, its log ${agent.log})`));
    else if (fe.e.drift.length) out.push(fail(`the frontend ${want} is programmed on ${node.name}`, fe.e.drift.join('; '), `\`switchyard explain --lab ${c.lab.st.name} --node ${node.name} ${c.svc.metadata.name}\`; restart the agent to rewrite its maps`));
    else out.push(ok(`the frontend ${want} is programmed on ${node.name}`, `set ${fe.e.set.id} gen ${fe.e.set.gen}, ${fe.e.set.count} backend(s)`));
  } catch (err) {
    out.push(fail(`the frontend ${want} is programmed on ${node.name}`, (err as Error).message, 'is the agent running?'));
  }
  out.push(tcAttached(node.ns, c.client.hostIf)
    ? ok(`the program is attached to ${c.client.name}'s veth ${c.client.hostIf}`)
    : fail(`the program is attached to ${c.client.name}'s veth ${c.client.hostIf}`, 'no BPF filter on its tc ingress', `the agent attaches within a device scan; check its log ${agent.log}`));
  return out;
}

/** The Service's no-endpoint reject counter on the client's node (0 when unreadable: the frontend check says why). */
function rejectsNow(c: Ctx): number {
  try {
    const pinDir = c.lab.st.agents[c.client.node].pinDir;
    return explain(readPinnedMaps(pinDir), `${c.ns}/${c.svc.metadata.name}`).reduce((n, e) => n + e.counters.noEndpointRejects, 0);
  } catch {
    return 0;
  }
}

function rejectCheck(c: Ctx, before: number, after: number): Check {
  const title = 'the no-endpoint reject counter is not rising';
  return after > before
    ? fail(title, `it rose from ${before} to ${after} with the try above on ${c.client.node}: the data path has no backend for it`,
      'the Service has no ready endpoint on this node\'s maps: see the endpoints and frontend checks')
    : ok(title, `${after} on ${c.client.node}${after ? ' (from earlier, not from the try above)' : ''}`);
}

function podChecks(c: Ctx): Check[] {
  const target = resolveTargetPort(c.port);
  if (target === undefined) return [fail('the targetPort resolves on the pods', `no pod port named ${String(c.port.targetPort)}`, 'name the port in the pod template or use a number')];
  if ((c.port.protocol ?? 'TCP') !== 'TCP') return [{ status: 'note', title: `pod IPs: ${String(c.port.protocol)} is not tried directly (no connection to open)` }];
  const eps = readyEndpoints(c).slice(0, 5);
  if (!eps.length) return [{ status: 'note', title: 'pod IPs: no ready endpoint to try directly' }];
  const out: Check[] = [];
  const failed = eps.map((e) => ({ e, err: connectIn(c.client.netns, e.ip, target) })).filter((x) => x.err);
  out.push(failed.length
    ? fail(`the pod IPs answer directly on ${target}`, failed.map((x) => `${x.e.ip}:${target} ${x.err}`).join(', '), 'the app is not reachable even without the Service: check it listens on the targetPort on all addresses')
    : ok(`the pod IPs answer directly on ${target}`, eps.map((e) => e.ip).join(', ')));
  const local: string[] = [];
  for (const e of eps) {
    const pod = e.pod ? c.lab.st.pods[e.pod] : undefined;
    if (!pod) continue;
    const addrs = listenAddresses(pod.netns, target);
    if (addrs.length && addrs.every((a) => a.startsWith('127.') || a === '[::1]')) local.push(`${pod.name} (${addrs.join(', ')})`);
  }
  out.push(local.length
    ? fail(`the app listens on all addresses, not only localhost`, `listening on localhost only: ${local.join(', ')}`, 'make the app bind 0.0.0.0 (or the pod IP): traffic from the Service arrives at the pod IP')
    : ok('the app does not listen on localhost only', 'checked with ss in the pods\' namespaces'));
  return out;
}

function dnsCheck(c: Ctx): Check {
  const name = `${c.svc.metadata.name}.${c.ns}.svc.cluster.local`;
  const r = digIn(c.client.netns, name);
  if (r.error || !r.lines.includes(String(c.spec.clusterIP))) {
    return fail(`the name ${name} resolves`, r.error ?? `answered ${r.lines.join(', ') || 'nothing'}`, 'check the cluster DNS: `switchyard lab status` (kube-dns pods), or use the cluster IP meanwhile');
  }
  return ok(`the name ${name} resolves to ${String(c.spec.clusterIP)}`, `from ${c.client.name}`);
}

function endToEnd(c: Ctx): Check {
  if ((c.port.protocol ?? 'TCP') !== 'TCP') return { status: 'note', title: `${String(c.port.protocol)}: no connection to try through the cluster IP` };
  const err = connectIn(c.client.netns, String(c.spec.clusterIP), Number(c.port.port));
  const what = `${String(c.spec.clusterIP)}:${c.port.port}`;
  return err ? fail(`a connection to ${what} from ${c.client.name} succeeds`, err, 'see the ✗ above; `switchyard trace` shows what the data path does with such a packet')
    : ok(`a connection to ${what} from ${c.client.name} succeeds`);
}
