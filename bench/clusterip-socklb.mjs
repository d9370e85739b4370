// The "socket LB" case of bench/clusterip.mjs (issue 14): the client pod connects to the
// ClusterIP (IPv4 and, when IPv6 is measured, IPv6) and the agent's cgroup connect4/connect6
// program (--socket-lb all) puts a backend's address into the connect() itself, so the
// connection runs as if made to the pod IP: no NAT, no conntrack entry. Measured in the same run
// as "direct pod IP"; the target is ≥ 0.98× its rate.
//
// The case's own cgroup (under the unified root, named after the run) holds the client's load
// processes; the agent attaches there (through --cgroup-root, a bind mount under /run because
// `ip netns exec` hides /sys) and registers the client pod's namespace through its veth. The tc
// programs stay on the pod veths as in the Switchyard case: packets to a pod IP pass from_pod.
import { mkdirSync, openSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mountBpffs, run, spawnIn, unmountBpffs } from '../dist/lab/namespaces.js';
import { unifiedRoot } from '../dist/lab/cgroups.js';
import { adminSocketPath } from '../dist/inspect/admin.js';
import { CLUSTER_CIDRS, logLines } from './clusterip-topo.mjs';

const ROOT = new URL('..', import.meta.url).pathname;
const CLI = join(ROOT, 'dist/cli/main.js');

/** Joins `cgroup`, then runs `argv` in namespace `ns` (the cgroup is joined before `ip netns
 *  exec` remounts /sys). */
const inCgroupNs = (cgroup, ns, argv) =>
  run('sh', ['-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', cgroup, 'ip', 'netns', 'exec', ns, ...argv]);

/** Waits for the agent's first sync of `count` Services (`count` per family with `ipv6`) and for
 *  its log to say the client pod is served; returns the sync's durationMs. */
async function waitAgent(agent, logFile, count, clientIf, ipv6) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (Date.now() > deadline || agent.exitCode !== null)
      throw new Error(`socket-LB agent not ready; log:\n${readFileSync(logFile, 'utf8').slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 100));
    const lines = logLines(logFile);
    const sync = lines.find(
      (l) => l.msg === 'sync applied' && l.servicePorts >= count && (!ipv6 || l.frontends >= 2 * count),
    );
    const served = lines.some((l) => l.msg === 'pod socket LB: serving pod' && l.device === clientIf);
    if (sync && served) return sync.durationMs;
  }
}

const LABEL = 'Switchyard socket LB';
const LABEL_POD_IP = 'pod IP, socket-LB node';

/**
 * Two cases, built with clusterip.mjs's own pieces so they differ from the Switchyard case only in
 * the flags: `prepare` (namespaces, servers, the answer check), the Services (`servicesFor`,
 * `manifestFor`), the temp dir and the VIP targets. The first connects to the ClusterIP; the
 * second to the pod IPs on an identical node (agent, cgroup programs, tc programs on the veths),
 * which isolates what connect4 itself costs from what any packet of a Switchyard node pays.
 */
export async function socketLbCases(deps, loadgen, count, tag) {
  // Both families when IPv6 is measured: connect6 serves the IPv6 ClusterIP as connect4 the IPv4 one.
  const podIps = (t) => ({ ipv4: t.backends.map((b) => `${b.ip}:80`), ipv6: t.backends.map((b) => `[${b.ip6}]:80`) });
  return [
    await socketLbCase(deps, LABEL, deps.vipTargets, loadgen, count, tag),
    await socketLbCase(deps, LABEL_POD_IP, podIps, loadgen, count, `p${tag.slice(1)}`),
  ];
}

function socketLbCase({ prepare, servicesFor, manifestFor, work, ipv6 }, label, targets, loadgen, count, tag) {
  return prepare(label, count, tag, loadgen, targets, async (t) => {
    const pinDir = `/run/${t.prefix}-bpf`;
    const cgVisible = `/run/${t.prefix}-cg`;
    const cgroup = join(unifiedRoot(), `${t.prefix}-cg`);
    const dir = join(work, `${t.prefix}-manifests`);
    const logFile = join(work, `${t.prefix}-agent.log`);
    mkdirSync(dir, { recursive: true });
    mkdirSync(cgroup);
    mkdirSync(cgVisible, { recursive: true });
    run('mount', ['--bind', cgroup, cgVisible]);
    mountBpffs(pinDir);
    // The load client runs in the case's cgroup, where the programs are attached.
    t.runClient = (ns, argv) => inCgroupNs(cgroup, ns, argv);
    const destroy = t.destroy.bind(t);
    let agent;
    t.destroy = () => {
      if (agent && agent.exitCode === null) agent.kill('SIGTERM');
      for (const step of [
        () => run(process.execPath, [CLI, 'agent', '--cleanup', '--pin-dir', pinDir]),
        destroy, // SIGKILLs the agent before it can remove its admin socket: done below
        () => rmSync(adminSocketPath(pinDir), { force: true }),
        () => unmountBpffs(pinDir),
        () => unmountBpffs(cgVisible),
        () => rmdirSync(cgroup),
      ]) {
        try {
          step();
        } catch (err) {
          console.error(`cleanup (socket LB case): ${err.message}`);
        }
      }
    };
    const v6 = ipv6 ? [servicesFor(count, t.backends, 'ipv6')] : [];
    writeFileSync(join(dir, 'services.json'), manifestFor(servicesFor(count, t.backends), ...v6));
    const argv = [process.execPath, CLI, 'agent', '--manifests', dir, '--pod-devices', `${t.prefix}h*`];
    argv.push('--pin-dir', pinDir, '--hostname-override', 'node1', '--socket-lb', 'all', '--cgroup-root', cgVisible);
    argv.push('--cluster-cidr', CLUSTER_CIDRS); // as the Switchyard case (clusterip.mjs)
    agent = spawnIn(t.nodeNs, argv, { logFd: openSync(logFile, 'a') });
    t.procs.push(agent);
    return waitAgent(agent, logFile, count, t.client.hostIf, ipv6);
  });
}

/** The per-round ratios a / b (the rounds visit every path in turn, so a round's two rates were
 *  measured seconds apart, under the same load): their median and quartiles, as text. */
function pairedRatio(a, b) {
  const rs = a.rates.map((v, i) => v / b.rates[i]).filter(Number.isFinite);
  if (!rs.length) return '-';
  const s = [...rs].sort((x, y) => x - y);
  const q = (f) => s[Math.min(s.length - 1, Math.floor(f * s.length))];
  return `${q(0.5).toFixed(3)}× (quartiles ${q(0.25).toFixed(3)}–${q(0.75).toFixed(3)}, ${s.length} rounds)`;
}

/** The summary line: the socket-LB rate against the direct one (the target: ≥ 0.98×) and
 *  against the pod IPs on a socket-LB node, as the ratio of the medians and as the median of
 *  the rounds' own ratios, the steadier figure on a machine whose rate drifts. */
export function socketLbSummary(rows) {
  const ratio = (a, b) => (a && b ? `${(a / b).toFixed(3)}×` : '-');
  const lines = rows
    .filter((r) => r.label === LABEL)
    .map((r) => {
      const direct = rows.find((x) => x.label === 'direct pod IP' && x.family === r.family);
      const same = rows.find((x) => x.label === LABEL_POD_IP && x.services === r.services && x.family === r.family);
      const paired = (b) => (b ? pairedRatio(r, b) : '-');
      return (
        `${r.family === 'ipv6' ? 'IPv6' : 'IPv4'}, ${r.services} services: ${ratio(r.rate, direct?.rate)} of direct pod IP, per round ${paired(direct)} ` +
        `(target ≥ 0.98×); ${ratio(r.rate, same?.rate)} of pod IP on a socket-LB node, per round ${paired(same)}`
      );
    });
  return lines.length ? `socket LB:\n${lines.map((l) => `  ${l}`).join('\n')}` : '';
}
