// `lab demo`: the lab's Services at work, shown as a person wants to see them — which pod answered
// and how often, through the ClusterIP, through each node's NodePort from outside, with ClientIP
// affinity, over UDP — one line per step as it runs, then the tally.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Lab } from './lab.js';
import { labStatus, type LabStatus, type PodStatus, type ServiceStatus } from './lab-status.js';
import { NODE_BIN, REPO_ROOT } from './lab-state.js';
import type { ProbeResult } from './probe.js';
import { dnsRound } from './lab-demo-dns.js';
import { ipv6Round } from './lab-demo-ipv6.js';

const PROBE = join(REPO_ROOT, 'dist/lab/probe.js');

export function probeIn(ns: string, args: string[]): Promise<ProbeResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', ns, NODE_BIN, PROBE, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    child.on('error', reject);
    child.on('exit', () => {
      try {
        resolve(JSON.parse(out) as ProbeResult);
      } catch {
        reject(new Error(`probe in ${ns}: ${err.trim() || out.trim() || 'no output'}`));
      }
    });
  });
}

const BAR = 28;
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export interface DemoOptions {
  say: (line: string) => void;
  count?: number;
}

// biome-ignore lint/complexity/noExcessiveLinesPerFunction: the demo's rounds in the order they print, a few lines each
export async function runDemo(lab: Lab, opts: DemoOptions): Promise<{ failures: number }> {
  const { say } = opts;
  const count = opts.count ?? 100;
  const t0 = Date.now();
  const status = await labStatus(lab);
  const svc = (name: string) => status.services.find((s) => s.name === name);
  const podsOf = (dep: string) => status.pods.filter((p) => p.deployment === dep && p.ready);
  const clients = podsOf('client').length ? podsOf('client') : status.pods.filter((p) => p.ready).slice(0, 2);
  const byName = new Map(status.pods.map((p) => [p.name, p]));
  let failures = 0;
  const steps = 7;
  let step = 0;
  const head = (text: string) => say(`[${++step}/${steps}] ${text}`);

  say(
    `Switchyard lab "${status.name}": ${status.nodes.length} nodes (${status.nodes.map((n) => `${n.name} ${n.address}`).join(', ')}), ` +
      `${status.pods.length} pods, ${status.services.length} services; API server ${status.apiServer.url}`,
  );
  const sick = status.nodes.filter((n) => n.agent.health !== 'ok');
  if (sick.length) say(`  warning: agent ${sick.map((n) => `${n.name}: ${n.agent.health}`).join(', ')}`);
  if (clients.length === 0) {
    say('no ready pod to send requests from: `switchyard lab apply -f src/lab/examples` first');
    return { failures: 1 };
  }
  const client = clients[0];
  say('');

  // 1. ClusterIP round robin.
  const myapp = svc('myapp-svc');
  if (myapp && myapp.clusterIP !== 'None') {
    const url = `http://${myapp.clusterIP}:${myapp.ports[0].port}/hostname.html`;
    head(
      `ClusterIP round robin: ${count} new connections from ${client.name} (${client.node}) to ${url} — each one a fresh pick`,
    );
    const r = await probeIn(client.netns, ['http', url, '--count', String(count), '--timeout-ms', '1500']);
    failures += r.failed;
    tally(say, r, byName, myapp);
    failures += await ipv6Round(lab, say, client, myapp, Math.max(10, Math.round(count / 5)), byName);
  } else {
    head('ClusterIP round robin: no Service myapp-svc (apply src/lab/examples/myapp.yaml)');
  }

  // 2. A second ClusterIP Service, allocated by the lab's API server.
  const nginx = svc('my-nginx');
  if (nginx && nginx.clusterIP !== 'None') {
    const url = `http://${nginx.clusterIP}:${nginx.ports[0].port}/hostname.html`;
    const n = Math.max(10, Math.round(count / 5));
    head(
      `ClusterIP my-nginx (its cluster IP allocated by the API server): ${n} connections from ${client.name} to ${url}`,
    );
    const r = await probeIn(client.netns, ['http', url, '--count', String(n), '--timeout-ms', '1500']);
    failures += r.failed;
    tally(say, r, byName, nginx);
  } else {
    head('ClusterIP my-nginx: not in the lab');
  }

  // 3. NodePort from outside, on every node.
  const nodePort = myapp?.ports[0].nodePort;
  head(
    `NodePort from outside: the external client ${status.external.address} to <node address>:${nodePort ?? '?'} on each node`,
  );
  if (!nodePort) {
    say('      myapp-svc has no nodePort');
  } else if (!status.dataPath.fromNetdev) {
    say(
      `      NodePort: not available yet (${status.dataPath.object.replace(`${REPO_ROOT}/`, '')} has no from_netdev program for the uplinks)`,
    );
  } else {
    const n = Math.max(10, Math.round(count / 2));
    for (const node of status.nodes) {
      if (!node.agent.uplinkAttached) {
        say(
          `      ${node.name}: NodePort: not available yet (no program on eth0; the agent predates from_netdev: \`switchyard lab restart-agent ${node.name}\`)`,
        );
        continue;
      }
      const url = `http://${node.address}:${nodePort}/hostname.html`;
      say(`      ${node.name}: ${n} connections to ${url}`);
      const r = await probeIn(status.external.namespace, ['http', url, '--count', String(n), '--timeout-ms', '1500']);
      // Not a single answer: the NodePort is not there (yet), which is news, not a failed request.
      if (r.ok === 0) {
        say(
          `      NodePort: not available yet on ${node.name} (${Object.entries(r.errors)
            .map(([e, c]) => `${c}× ${e}`)
            .join(', ')}; its frontends: \`switchyard inspect services --pin-dir ${node.pinDir}\`)`,
        );
        continue;
      }
      tally(say, r, byName, myapp);
      failures += r.failed;
    }
  }

  // 4. ClientIP affinity: each client stays with one pod.
  const sticky = svc('myapp-sticky');
  if (sticky && sticky.clusterIP !== 'None') {
    const url = `http://${sticky.clusterIP}:${sticky.ports[0].port}/hostname.html`;
    const n = 20;
    head(`Session affinity (ClientIP) on myapp-sticky: ${n} connections from each client pod to ${url}`);
    for (const c of clients) {
      const r = await probeIn(c.netns, ['http', url, '--count', String(n), '--timeout-ms', '1500']);
      failures += r.failed;
      const pods = Object.entries(r.answers);
      const held = pods.length === 1;
      say(
        `      ${c.name} (${c.ip}, ${c.node}) → ${pods.map(([p, k]) => `${p} ${k}/${n}`).join(', ') || 'no answer'}${held ? '   ✓ one pod' : '   ✗ more than one pod'}${r.failed ? `, ${r.failed} failed` : ''}`,
      );
    }
  } else {
    head('Session affinity: no Service myapp-sticky in the lab');
  }

  // 5. UDP.
  const echo = svc('echo-udp');
  if (echo && echo.clusterIP !== 'None') {
    const p = echo.ports[0];
    const target = `${echo.clusterIP}:${p.port}`;
    const n = 30;
    head(
      `UDP: ${n} datagrams from ${client.name} to ${target} (echo-udp, port ${p.port} → targetPort ${p.targetPort})`,
    );
    const r = await probeIn(client.netns, ['udp', target, '--count', String(n), '--timeout-ms', '1000']);
    failures += r.failed;
    tally(say, r, byName, echo);
  } else {
    head('UDP: no Service echo-udp in the lab');
  }

  // 6. What is rightly not proxied.
  head('Services the agents leave alone: headless and ExternalName');
  programmed(say, status);

  // 7. Names: the cluster DNS, reached through Switchyard like any Service.
  head(`Cluster DNS: names resolved from ${client.name} with dig through kube-dns`);
  failures += dnsRound(say, status, client);

  say('');
  say(`${failures === 0 ? 'All answered' : `${failures} request(s) failed`} in ${secs(Date.now() - t0)}.`);
  return { failures };
}

export function tally(
  say: (line: string) => void,
  r: ProbeResult,
  pods: Map<string, PodStatus>,
  svc: ServiceStatus,
): void {
  const rows = Object.entries(r.answers).sort((a, b) => a[0].localeCompare(b[0]));
  const max = Math.max(1, ...rows.map(([, n]) => n));
  const width = Math.max(0, ...rows.map(([name]) => name.length));
  for (const [name, n] of rows) {
    const p = pods.get(name);
    say(
      `      ${name.padEnd(width)}  ${(p?.node ?? '?').padEnd(5)}  ${(p?.ip ?? '').padEnd(12)}  ${'█'.repeat(Math.max(1, Math.round((n / max) * BAR))).padEnd(BAR)}  ${n}`,
    );
  }
  const errors = Object.entries(r.errors)
    .map(([e, c]) => `${c}× ${e}`)
    .join(', ');
  const perNode = new Map<string, number>();
  for (const [name, n] of rows) {
    const node = pods.get(name)?.node ?? '?';
    perNode.set(node, (perNode.get(node) ?? 0) + n);
  }
  const nodes = [...perNode]
    .sort()
    .map(([node, n]) => `${node} ${n}`)
    .join(', ');
  say(
    `      → ${r.ok} answered by ${rows.length} of ${svc.endpoints.length} endpoints (${nodes || 'none'}), ${r.failed} failed${errors ? ` (${errors})` : ''}, ${secs(r.durationMs)}`,
  );
}

function programmed(say: (line: string) => void, status: LabStatus): void {
  const proxied = status.services.filter((s) => s.type !== 'ExternalName' && s.clusterIP && s.clusterIP !== 'None');
  const ports = proxied.reduce((n, s) => n + s.ports.length, 0);
  for (const s of status.services) {
    if (s.type === 'ExternalName')
      say(`      ${s.name}: ExternalName → ${s.externalName}: a DNS alias, no endpoints, nothing to program`);
    else if (s.clusterIP === 'None')
      say(
        `      ${s.name}: headless (clusterIP None): ${s.endpoints.length} endpoints for DNS, no virtual IP, nothing to program`,
      );
  }
  const counts = status.nodes.map((n) => `${n.name} ${n.agent.servicePorts ?? '?'}`).join(', ');
  const ok = status.nodes.every((n) => n.agent.servicePorts === ports);
  say(
    `      service ports programmed per agent: ${counts} — ${ok ? 'exactly' : 'expected'} the ${ports} of ${proxied.map((s) => s.name).join(', ')}`,
  );
}
