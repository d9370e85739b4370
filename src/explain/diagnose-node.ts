// `switchyard diagnose SERVICE` on a node: the checklist against the API (Service, EndpointSlices,
// pods), this node's pins and agent, the client pod's veth and the pod IPs from here. What only
// a pod's own namespace can show (listening on localhost only, the name resolving, a connection
// through the cluster IP, which the node's own traffic never takes) is reported as skipped, with
// the command that checks it, never as ✓.
import { spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { silenceLibbpf, tcPrograms } from '../bpf/index.js';
import { readPinnedMaps } from '../inspect/read.js';
import type { MapContents } from '../inspect/views.js';
import {
  directCheck,
  agentChecks,
  endpointsCheck,
  fail,
  findService,
  frontendCheck,
  ok,
  PING_NOTE,
  portCheck,
  readyEndpoints,
  rejectCheck,
  rejectsIn,
  selectorCheck,
  serviceCheck,
  serviceKey,
  skip,
  type ApiObject,
  type Check,
  type PodFacts,
  type Raw,
} from './checks.js';

/** The API reads diagnose makes; the CLI backs it with the kubeconfig's client. */
export interface DiagnoseApi {
  list(kind: 'Service' | 'EndpointSlice' | 'Pod', namespace: string, labelSelector?: string): Promise<ApiObject[]>;
}

export interface NodeDiagnoseOptions {
  api: DiagnoseApi;
  pinDir: string;
  /** This node's name, as pods' spec.nodeName says it. */
  nodeName: string;
  agentUrl: string;
  from?: string;
  port?: number;
  /** How long at least the reject counter is watched. */
  watchMs?: number;
}

/** A TCP connect from here: undefined when it succeeded, else the error code. */
function tcpConnect(ip: string, port: number, timeoutMs = 1500): Promise<string | undefined> {
  return new Promise((resolve) => {
    const s = connect({ host: ip, port, timeout: timeoutMs }, () => {
      s.destroy();
      resolve(undefined);
    });
    s.on('timeout', () => {
      s.destroy();
      resolve('timeout');
    });
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

/** The targetPort as the slices resolved it (a named port), else the number the Service gives. */
function targetFromSlices(slices: ApiObject[]): (p: Raw) => number | undefined {
  return (p) => {
    const proto = p.protocol ?? 'TCP';
    for (const s of slices)
      for (const sp of (s.ports as Raw[] | undefined) ?? [])
        if ((sp.name ?? '') === (p.name ?? '') && (sp.protocol ?? 'TCP') === proto) return Number(sp.port);
    const t = p.targetPort;
    if (t === undefined || t === null || t === '') return Number(p.port);
    return typeof t === 'number' || /^\d+$/.test(String(t)) ? Number(t) : undefined;
  };
}

export async function diagnoseNode(service: string, o: NodeDiagnoseOptions): Promise<Check[]> {
  const started = Date.now();
  const { namespace: ns, name } = serviceKey(service);
  const key = `${ns}/${name}`;
  const readMaps = () => readPinnedMaps(o.pinDir);
  const rejectsBefore = rejectsIn(readMaps, key);
  const svc = findService(await o.api.list('Service', ns), key);
  const exists = serviceCheck(svc, key, '`kubectl get services -A` lists them');
  if (!svc || exists.status === 'fail') return [exists];
  const spec = (svc.spec ?? {}) as Raw;
  const ports = (spec.ports as Raw[] | undefined) ?? [];
  const port = ports.find((p) => Number(p.port) === o.port) ?? ports[0];
  const slices = await o.api.list('EndpointSlice', ns, `kubernetes.io/service-name=${name}`);
  let pods: PodFacts[] | string;
  let rawPods: ApiObject[] = [];
  try {
    rawPods = await o.api.list('Pod', ns);
    pods = rawPods.map((p) => ({ name: p.metadata.name, namespace: ns, labels: p.metadata.labels ?? {} }));
  } catch (err) {
    pods = `the API server did not list pods: ${(err as Error).message}`;
  }
  const target = targetFromSlices(slices);
  const checks: Check[] = [
    exists,
    selectorCheck(spec, ns, pods, slices.length),
    endpointsCheck(slices, '`kubectl get pods -o wide`'),
    portCheck(spec, port, o.port, target),
  ];
  let maps: MapContents | Error;
  try {
    maps = readMaps();
  } catch (err) {
    maps = err as Error;
  }
  checks.push(
    frontendCheck(maps, key, `${String(spec.clusterIP)}:${port.port}`, o.nodeName, {
      missing: `\`switchyard explain ${key}\` shows what the agent wants and the errors it logged`,
      drift: `\`switchyard explain ${key}\`; restart the agent to rewrite its maps`,
    }),
    ...(await agentChecks(o.agentUrl, key, maps)),
    await attachCheck(o, ns, rawPods),
    ...(await podIpChecks(slices, port, target(port))),
    skip(
      'the app does not listen on localhost only',
      `needs the pod's own namespace: \`kubectl exec POD -- ss -ltn\` (the lab runs it for you)`,
    ),
    skip(`the name ${name}.${ns}.svc.cluster.local resolves`, `needs a pod: \`kubectl exec POD -- nslookup ${name}\``),
    skip(
      `a connection to ${String(spec.clusterIP)}:${port.port} from a pod succeeds`,
      "the node's own connections do not pass the pods' program: " +
        `\`kubectl exec POD -- curl ${String(spec.clusterIP)}:${port.port}\``,
    ),
  );
  // Watched for at least watchMs: rising means clients are rejected right now.
  const wait = (o.watchMs ?? 1000) - (Date.now() - started);
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  checks.push(
    rejectCheck(rejectsBefore, rejectsIn(readMaps, key), o.nodeName, `in ${secs}s`, `from these ${secs}s`),
    PING_NOTE,
  );
  return checks;
}

/** The client pod's veth on this node carries the program (tc ingress). */
async function attachCheck(o: NodeDiagnoseOptions, ns: string, pods: ApiObject[]): Promise<Check> {
  const title = `the program is attached to ${o.from ?? 'the client'}'s veth`;
  if (!o.from) return skip(title, 'give --from POD (or NAMESPACE/POD) to check the client pod');
  // The client may live in another namespace than the Service.
  const from = serviceKey(o.from.includes('/') ? o.from : `${ns}/${o.from}`);
  let inNs = pods;
  if (from.namespace !== ns) inNs = await o.api.list('Pod', from.namespace).catch(() => []);
  const pod = inNs.find((p) => p.metadata.name === from.name);
  if (!pod) return skip(title, `no pod ${from.namespace}/${from.name} in the API`);
  const node = (pod.spec as Raw | undefined)?.nodeName;
  if (node && node !== o.nodeName) return skip(title, `${o.from} runs on ${String(node)}: run diagnose there`);
  const ip = (pod.status as Raw | undefined)?.podIP as string | undefined;
  if (!ip) return skip(title, `${o.from} has no pod IP yet`);
  const route = spawnSync('ip', ['-o', 'route', 'get', ip], { encoding: 'utf8' });
  const dev = / dev (\S+)/.exec(route.stdout)?.[1];
  if (!dev) return skip(title, `no route to ${ip} on this node: ${route.stderr.trim() || 'none'}`);
  silenceLibbpf(); // "no clsact qdisc" is an answer here, not news for stderr
  const progs = tcPrograms(dev, 'ingress');
  return progs.some((p) => p.name === 'from_pod')
    ? ok(`the program is attached to ${o.from}'s veth ${dev}`, progs.map((p) => `${p.name} (${p.mode})`).join(', '))
    : fail(
        `the program is attached to ${o.from}'s veth ${dev}`,
        `no from_pod on its tc ingress (${progs.map((p) => p.name).join(', ') || 'no BPF program'})`,
        "check the agent's --pod-devices matches the veth's name, and its log for 'attach failed'",
      );
}

async function podIpChecks(slices: ApiObject[], port: Raw, target: number | undefined): Promise<Check[]> {
  if (target === undefined)
    return [
      fail(
        'the targetPort resolves',
        `no port named ${String(port.targetPort)} in the slices`,
        'name the port in the pod template or use a number',
      ),
    ];
  if ((port.protocol ?? 'TCP') !== 'TCP')
    return [
      { status: 'note', title: `pod IPs: ${String(port.protocol)} is not tried directly (no connection to open)` },
    ];
  const eps = readyEndpoints(slices).slice(0, 5);
  if (!eps.length) return [{ status: 'note', title: 'pod IPs: no ready endpoint to try directly' }];
  const tried = await Promise.all(eps.map(async (e) => ({ ip: e.ip, err: await tcpConnect(e.ip, target) })));
  return [directCheck(target, tried)];
}
