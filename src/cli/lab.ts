// `switchyard lab`: a two-node cluster of network namespaces on this machine, with the API server
// double, one real agent per node, pods and Services — to see Switchyard work and to script it.
// Every subcommand takes --name (default "lab", or $SWITCHYARD_LAB_NAME) and needs root.
import { Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_LAB_NAME, LabError, withLock } from '../lab/lab-state.js';
import { humanDuration, renderTable } from './table.js';
import type { LabStatus } from '../lab/lab-status.js';

const defaultName = () => process.env.SWITCHYARD_LAB_NAME || DEFAULT_LAB_NAME;
const say = (line: string) => process.stdout.write(`${line}\n`);
// `lab status | head` closes the pipe early: that is the reader's choice, not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

function needRoot(): void {
  if (process.getuid?.() !== 0)
    throw new LabError('the lab needs root: it creates network namespaces, mounts bpffs and loads BPF programs');
}

function intArg(what: string) {
  return (v: string) => {
    if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`${what}: expected a whole number`);
    return Number(v);
  };
}

/** A subcommand with --name. */
function sub(name: string, description: string): Command {
  return new Command(name)
    .description(description)
    .addOption(
      new Option(
        '--name <name>',
        "the lab's name (prefixes its namespaces; state in /run/switchyard-lab/NAME)",
      ).default(defaultName(), defaultName()),
    );
}

async function lab() {
  return import('../lab/lab.js');
}

// biome-ignore lint/complexity/noExcessiveLinesPerFunction: a declarative list of subcommands, one short builder each
export function labCommand(): Command {
  const cmd = new Command('lab')
    .description('a two-node cluster of network namespaces with the API server double and real agents')
    .addHelpText(
      'after',
      `
Start with \`switchyard lab up\`, then \`lab demo\`, \`lab status\`, \`lab exec client -- probe http http://10.99.99.99/hostname.html --count 20\`.
Every command takes --name NAME for a lab other than "${DEFAULT_LAB_NAME}".`,
    );

  cmd.addCommand(
    sub('up', 'create the namespaces, start the API server and one agent per node, apply the examples')
      .option('--no-examples', 'start with no pods and no Services (apply your own with `lab apply -f`)')
      .option('--zones <list>', 'comma-separated zones of node1, node2 (topology.kubernetes.io/zone)', 'zone-a,zone-b')
      .option(
        '--ip-family <family>',
        'ipv4, ipv6 or dual: the families of node, pod and Service addresses (ULA fd00::/8 for IPv6)',
        'dual',
      )
      .addOption(
        new Option(
          '--socket-lb <mode>',
          "the agents' --socket-lb: 'all' serves pod sockets at connect() (no NAT, no conntrack), 'host' leaves pods on the tc path",
        )
          .choices(['disabled', 'host', 'all'])
          .default('all'),
      )
      .action(async (o: { name: string; examples: boolean; zones: string; ipFamily: string; socketLb: string }) => {
        needRoot();
        const { Lab } = await lab();
        const zones = o.zones
          .split(',')
          .map((z) => z.trim())
          .filter(Boolean);
        if (o.ipFamily !== 'ipv4' && o.ipFamily !== 'ipv6' && o.ipFamily !== 'dual') {
          throw new Error(`--ip-family: expected ipv4, ipv6 or dual (got "${o.ipFamily}")`);
        }
        const socketLb = o.socketLb as 'disabled' | 'host' | 'all';
        await Lab.up(o.name, { examples: o.examples, zones, ipFamily: o.ipFamily, socketLb, say });
        const flag = o.name === DEFAULT_LAB_NAME ? '' : ` --name ${o.name}`;
        say('');
        say(`Next: switchyard lab demo${flag}    switchyard lab status${flag}    switchyard lab down${flag}`);
      }),
  );

  cmd.addCommand(
    sub('down', 'remove every namespace, process, pin and file of the lab (also after a crash)')
      .option('--all', 'every lab with a state dir under /run/switchyard-lab')
      .action(async (o: { name: string; all?: boolean }) => {
        needRoot();
        const { teardown, listLabs } = await lab();
        const names = o.all ? listLabs() : [o.name];
        if (names.length === 0) say('no lab found');
        for (const name of names) {
          const r = await teardown(name, (l) => say(`  ${l}`));
          say(
            r.namespaces.length || r.processes || r.mounts.length || r.stateDir
              ? `lab "${name}" is down`
              : `lab "${name}": nothing to remove`,
          );
        }
      }),
  );

  cmd.addCommand(
    sub('status', 'nodes, agents, pods, Services and the API server of the lab')
      .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'))
      .action(async (o: { name: string; output: 'table' | 'json' }) => {
        needRoot();
        const { Lab } = await lab();
        const { labStatus } = await import('../lab/lab-status.js');
        const s = await labStatus(Lab.open(o.name));
        process.stdout.write(o.output === 'json' ? `${JSON.stringify(s, null, 2)}\n` : renderStatus(s));
      }),
  );

  cmd.addCommand(
    sub('demo', 'round robin, NodePort from outside, affinity, UDP and cluster DNS, shown step by step')
      .option('--count <n>', 'connections for the round-robin steps', intArg('--count'), 100)
      .action(async (o: { name: string; count: number }) => {
        needRoot();
        const { Lab } = await lab();
        const { runDemo } = await import('../lab/lab-demo.js');
        const r = await runDemo(Lab.open(o.name), { say, count: o.count });
        if (r.failures) process.exitCode = 1;
      }),
  );

  const manifestCommand = (name: 'apply' | 'delete', description: string, method: 'applyDocs' | 'deleteDocs') =>
    cmd.addCommand(
      sub(name, description)
        .requiredOption('-f, --filename <path>', 'a YAML/JSON file or a directory of them')
        .action(async (o: { name: string; filename: string }) => {
          needRoot();
          const { Lab } = await lab();
          const { readManifests } = await import('../lab/lab-objects.js');
          const docs = readManifests(o.filename);
          await withLock(o.name, () => Lab.open(o.name, say)[method](docs));
        }),
    );
  manifestCommand(
    'apply',
    'apply manifests: Deployments (the lab runs their pods), Services, EndpointSlices, Nodes',
    'applyDocs',
  );
  manifestCommand('delete', "delete what the manifests name (a Deployment's pods go with it)", 'deleteDocs');

  cmd.addCommand(
    sub('scale', "set a Deployment's replicas; the slices follow the pods")
      .argument('<deployment>', 'Deployment name (or NAMESPACE/NAME)')
      .requiredOption('--replicas <n>', 'the number of pods', intArg('--replicas'))
      .action(async (deployment: string, o: { name: string; replicas: number }) => {
        needRoot();
        const { Lab } = await lab();
        await withLock(o.name, () => Lab.open(o.name, say).scale(deployment, o.replicas));
      }),
  );

  cmd.addCommand(
    sub('kill-pod', 'delete a pod: out of the slices, agents synced, stopped; its Deployment replaces it')
      .argument('<pod>', 'pod name (see `lab status`)')
      .option('--now', 'no grace: the pod vanishes at once, like a crashed node would lose it')
      .action(async (pod: string, o: { name: string; now?: boolean }) => {
        needRoot();
        const { Lab } = await lab();
        await withLock(o.name, () => Lab.open(o.name, say).killPod(pod, { now: o.now }));
      }),
  );

  cmd.addCommand(
    sub('restart-agent', "SIGTERM a node's agent, wait, start it again with the same flags")
      .argument('<node>', 'node1, node2, ...')
      .action(async (node: string, o: { name: string }) => {
        needRoot();
        const { Lab } = await lab();
        await withLock(o.name, () => Lab.open(o.name, say).restartAgent(node));
      }),
  );

  cmd.addCommand(
    sub(
      'restart-apiserver',
      'SIGTERM the API server double, start it again with its objects kept (--state); agents resync',
    ).action(async (o: { name: string }) => {
      needRoot();
      const { Lab } = await lab();
      await withLock(o.name, () => Lab.open(o.name, say).restartApiServer());
    }),
  );

  cmd.addCommand(
    sub('exec', 'run a command in a pod, a Deployment\'s first pod, a node, "external" or "underlay"')
      .argument('<target>', 'pod, Deployment, node name, "external" or "underlay"')
      .argument('<command...>', 'the command after --; "probe ..." runs the lab\'s probe client (dist/lab/probe.js)')
      .action(async (target: string, command: string[], o: { name: string }) => {
        needRoot();
        const { Lab } = await lab();
        process.exitCode = await Lab.open(o.name).exec(target, command);
      }),
  );

  return cmd;
}

function age(iso: string): string {
  return humanDuration((Date.now() - Date.parse(iso)) / 1000);
}

// biome-ignore lint/complexity/noExcessiveLinesPerFunction: one screen laid out top to bottom, section after section
export function renderStatus(s: LabStatus): string {
  const out: string[] = [];
  out.push(`Lab "${s.name}"   up ${age(s.createdAt)}   state ${s.stateDir}`);
  out.push(
    `API server ${s.apiServer.url}   PID ${s.apiServer.pid} (${s.apiServer.running ? 'running' : 'NOT running'})   admin socket ${s.apiServer.socket}`,
  );
  out.push(
    `External client ${s.external.address} (namespace ${s.external.namespace})   data path ${s.dataPath.fromNetdev ? 'has' : 'has no'} from_netdev (NodePort from outside)`,
  );
  out.push('');
  out.push(
    renderTable(
      [
        { key: 'name', header: 'NODE' },
        { key: 'ns', header: 'NAMESPACE' },
        { key: 'address', header: 'ADDRESS' },
        { key: 'zone', header: 'ZONE' },
        { key: 'pid', header: 'AGENT PID' },
        { key: 'health', header: 'HEALTH' },
        { key: 'ports', header: 'SERVICE PORTS' },
        { key: 'uplink', header: 'UPLINK (eth0)' },
        { key: 'pins', header: 'PIN DIR' },
      ],
      s.nodes.map((n) => ({
        name: n.name,
        ns: n.namespace,
        address: n.address,
        zone: n.zone || '-',
        pid: n.agent.pid,
        health: n.agent.health,
        ports: n.agent.servicePorts ?? '-',
        uplink: n.agent.uplinkAttached ? 'attached' : '-',
        pins: n.pinDir,
      })),
    ).trimEnd(),
  );
  out.push('');
  out.push(
    renderTable(
      [
        { key: 'name', header: 'POD' },
        { key: 'ready', header: 'READY' },
        { key: 'phase', header: 'STATUS' },
        { key: 'node', header: 'NODE' },
        { key: 'ip', header: 'IP' },
        { key: 'version', header: 'VERSION' },
        { key: 'age', header: 'AGE' },
        { key: 'netns', header: 'NETNS' },
      ],
      s.pods.map((p) => ({
        name: p.name,
        ready: p.ready ? '1/1' : '0/1',
        phase: p.phase,
        node: p.node,
        ip: p.ip,
        version: p.version,
        age: age(p.createdAt),
        netns: p.netns,
      })),
    ).trimEnd(),
  );
  out.push('');
  out.push(
    renderTable(
      [
        { key: 'name', header: 'SERVICE' },
        { key: 'type', header: 'TYPE' },
        { key: 'ip', header: 'CLUSTER-IP' },
        { key: 'ports', header: 'PORT(S)' },
        { key: 'affinity', header: 'AFFINITY' },
        { key: 'eps', header: 'ENDPOINTS' },
      ],
      s.services.map((v) => ({
        name: v.name,
        type: v.type,
        ip: v.type === 'ExternalName' ? v.externalName : v.clusterIP,
        ports: v.ports.map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol}`).join(',') || '<none>',
        affinity: v.sessionAffinity,
        eps:
          v.endpoints.length === 0
            ? '<none>'
            : v.endpoints.length > 3
              ? `${v.endpoints.slice(0, 3).join(',')} + ${v.endpoints.length - 3} more`
              : v.endpoints.join(','),
      })),
    ).trimEnd(),
  );
  const hinted = s.services.filter((v) => v.trafficDistribution || Object.keys(v.hints).length > 0);
  if (hinted.length > 0) {
    out.push('');
    out.push(
      renderTable(
        [
          { key: 'name', header: 'SERVICE' },
          { key: 'td', header: 'TRAFFIC-DISTRIBUTION' },
          { key: 'ep', header: 'ENDPOINT' },
          { key: 'hints', header: 'HINTS' },
        ],
        hinted.flatMap((v) =>
          (v.endpoints.length ? v.endpoints : ['<none>']).map((ep) => ({
            name: v.name,
            td: v.trafficDistribution ?? '-',
            ep,
            hints: v.hints[ep] ?? '-',
          })),
        ),
      ).trimEnd(),
    );
  }
  out.push('');
  out.push(
    `Logs: ${s.stateDir}/{apiserver,${s.nodes.map((n) => `agent-${n.name}`).join(',')}}.log and pods/<pod>.log   Scripts: \`switchyard lab status -o json\``,
  );
  return `${out.join('\n')}\n`;
}
