// The network half of `switchyard diagnose` on a lab (lab-diagnose.ts has the API half): the
// client node's maps and veth, the pods answering directly and not on localhost only, the name,
// a connection through the cluster IP and the reject counter around it.
import { spawnSync } from 'node:child_process';
import type { KubeObject } from '../fakeapi/server.js';
import {
  directCheck,
  fail,
  frontendCheck,
  ok,
  readyEndpoints,
  rejectCheck as rejectShared,
  rejectsIn,
  type Check,
  type Raw,
} from '../explain/checks.js';
import { readPinnedMaps } from '../inspect/read.js';
import type { MapContents } from '../inspect/views.js';
import { digIn } from './lab-demo-dns.js';
import { resolveTargetPort } from './lab-objects.js';
import { tcAttached } from './lab-procs.js';
import type { PodState } from './lab-state.js';
import type { Lab } from './lab.js';

export interface Ctx {
  lab: Lab;
  svc: KubeObject;
  spec: Raw;
  ns: string;
  client: PodState;
  port: Raw;
  slices: KubeObject[];
}

/** A TCP connect from inside `ns`: undefined when it succeeded, else the error. */
function connectIn(ns: string, ip: string, port: number): string | undefined {
  const js =
    `const s=require('net').connect(${port},${JSON.stringify(ip)},()=>{s.destroy();process.exit(0)});` +
    `s.setTimeout(1500,()=>{console.log('timeout');process.exit(1)});` +
    `s.on('error',e=>{console.log(e.code||e.message);process.exit(1)})`;
  const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, '-e', js], { encoding: 'utf8', timeout: 5000 });
  return r.status === 0 ? undefined : r.stdout.trim() || r.stderr.trim() || 'failed';
}

/** Addresses a process in `ns` listens on for TCP `port` (from ss). */
function listenAddresses(ns: string, port: number): string[] {
  const r = spawnSync('ip', ['netns', 'exec', ns, 'ss', '-Hltn', `sport = :${port}`], { encoding: 'utf8' });
  return r.status !== 0
    ? []
    : r.stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => l.trim().split(/\s+/)[3]?.replace(/:\d+$/, '') ?? '');
}

export function nodeChecks(c: Ctx): Check[] {
  const node = c.lab.node(c.client.node);
  const agent = c.lab.st.agents[node.name];
  const service = `${c.ns}/${c.svc.metadata.name}`;
  let maps: MapContents | Error;
  try {
    maps = readPinnedMaps(agent.pinDir);
  } catch (err) {
    maps = err as Error;
  }
  const out: Check[] = [
    frontendCheck(maps, service, `${String(c.spec.clusterIP)}:${c.port.port}`, node.name, {
      missing: `check the agent on ${node.name} (\`switchyard lab status\`, its log ${agent.log})`,
      drift:
        `\`switchyard explain --lab ${c.lab.st.name} --node ${node.name} ${c.svc.metadata.name}\`; restart ` +
        `the agent to rewrite its maps`,
    }),
  ];
  out.push(
    tcAttached(node.ns, c.client.hostIf)
      ? ok(`the program is attached to ${c.client.name}'s veth ${c.client.hostIf}`)
      : fail(
          `the program is attached to ${c.client.name}'s veth ${c.client.hostIf}`,
          'no BPF program on its tc ingress',
          `the agent attaches within a device scan; check its log ${agent.log}`,
        ),
  );
  return out;
}

/** The Service's no-endpoint reject counter on the client's node. */
export function rejectsNow(c: Ctx): number {
  return rejectsIn(() => readPinnedMaps(c.lab.st.agents[c.client.node].pinDir), `${c.ns}/${c.svc.metadata.name}`);
}

export function rejectCheck(c: Ctx, before: number, after: number): Check {
  return rejectShared(before, after, c.client.node, 'with the try above', 'from the try above');
}

export function podChecks(c: Ctx): Check[] {
  const target = resolveTargetPort(c.port);
  if (target === undefined)
    return [
      fail(
        'the targetPort resolves on the pods',
        `no pod port named ${String(c.port.targetPort)}`,
        'name the port in the pod template or use a number',
      ),
    ];
  if ((c.port.protocol ?? 'TCP') !== 'TCP')
    return [
      { status: 'note', title: `pod IPs: ${String(c.port.protocol)} is not tried directly (no connection to open)` },
    ];
  const eps = readyEndpoints(c.slices).slice(0, 5);
  if (!eps.length) return [{ status: 'note', title: 'pod IPs: no ready endpoint to try directly' }];
  const out: Check[] = [];
  out.push(
    directCheck(
      target,
      eps.map((e) => ({ ip: e.ip, err: connectIn(c.client.netns, e.ip, target) })),
    ),
  );
  const local: string[] = [];
  for (const e of eps) {
    const pod = e.pod ? c.lab.st.pods[e.pod] : undefined;
    if (!pod) continue;
    const addrs = listenAddresses(pod.netns, target);
    if (addrs.length && addrs.every((a) => a.startsWith('127.') || a === '[::1]'))
      local.push(`${pod.name} (${addrs.join(', ')})`);
  }
  out.push(
    local.length
      ? fail(
          `the app listens on all addresses, not only localhost`,
          `listening on localhost only: ${local.join(', ')}`,
          'make the app bind 0.0.0.0 (or the pod IP): traffic from the Service arrives at the pod IP',
        )
      : ok('the app does not listen on localhost only', "checked with ss in the pods' namespaces"),
  );
  return out;
}

export function dnsCheck(c: Ctx): Check {
  const name = `${c.svc.metadata.name}.${c.ns}.svc.cluster.local`;
  const r = digIn(c.client.netns, name);
  if (r.error || !r.lines.includes(String(c.spec.clusterIP))) {
    return fail(
      `the name ${name} resolves`,
      r.error ?? `answered ${r.lines.join(', ') || 'nothing'}`,
      'check the cluster DNS: `switchyard lab status` (kube-dns pods), or use the cluster IP meanwhile',
    );
  }
  return ok(`the name ${name} resolves to ${String(c.spec.clusterIP)}`, `from ${c.client.name}`);
}

export function endToEnd(c: Ctx): Check {
  if ((c.port.protocol ?? 'TCP') !== 'TCP')
    return { status: 'note', title: `${String(c.port.protocol)}: no connection to try through the cluster IP` };
  const err = connectIn(c.client.netns, String(c.spec.clusterIP), Number(c.port.port));
  const what = `${String(c.spec.clusterIP)}:${c.port.port}`;
  return err
    ? fail(
        `a connection to ${what} from ${c.client.name} succeeds`,
        err,
        'see the ✗ above; `switchyard trace` shows what the data path does with such a packet',
      )
    : ok(`a connection to ${what} from ${c.client.name} succeeds`);
}
