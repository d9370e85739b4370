// `switchyard explain SERVICE[:PORT]`: one Service port as the data path holds it, from the pinned
// maps (the agent may be stopped), with drift. On a lab, --lab NAME --node NODE finds the pins.
import { Command, Option } from 'commander';
import { DEFAULT_PIN_DIR } from '../agent/config.js';

type Output = 'table' | 'json';
export interface PinOptions {
  pinDir?: string;
  lab?: string;
  node?: string;
}

/** The pin directory: --pin-dir, or a lab node's (default node1), or the agent's default. */
export async function pinDirOf(o: PinOptions): Promise<{ pinDir: string; where: string }> {
  if (o.lab) {
    const { requireState } = await import('../lab/lab-state.js');
    const st = requireState(o.lab);
    const node = o.node ?? st.nodes[0]?.name;
    const agent = st.agents[node ?? ''];
    if (!agent)
      throw new Error(`lab "${o.lab}" has no node "${node}" (nodes: ${st.nodes.map((n) => n.name).join(', ')})`);
    return { pinDir: agent.pinDir, where: `lab ${o.lab} ${node} (${agent.pinDir})` };
  }
  const pinDir = o.pinDir ?? DEFAULT_PIN_DIR;
  return { pinDir, where: pinDir };
}

export function pinOptions(cmd: Command): Command {
  return cmd
    .option('--pin-dir <dir>', `the agent's bpffs pin directory (default ${DEFAULT_PIN_DIR})`)
    .option('--lab <name>', 'read the pins of a lab node instead')
    .option('--node <node>', 'with --lab: which node (default node1)');
}

export function explainCommand(): Command {
  return pinOptions(new Command('explain'))
    .description(
      'one Service port as the data path holds it: frontends, backend set, affinity, flows, counters, drift ' +
        '(against what the agent wants, when it answers)',
    )
    .argument('<service>', 'NAME, NAMESPACE/NAME, optionally :PORT (its name or number)')
    .option(
      '--agent <url>',
      "the agent's admin endpoint: unix:/path or http://host:port (default: found from the pins)",
    )
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'))
    .action(async (service: string, opts: PinOptions & { agent?: string; output: Output }) => {
      const { pinDir, where } = await pinDirOf(opts);
      const { readPinnedMaps } = await import('../inspect/read.js');
      const { defaultAgentUrl } = await import('../explain/agent-client.js');
      const { explainReport, renderReport, reportFound } = await import('../explain/explain-report.js');
      const report = await explainReport(readPinnedMaps(pinDir), service, opts.agent ?? defaultAgentUrl(pinDir));
      if (!reportFound(report))
        throw new Error(
          `no Service port "${service}" in the maps in ${pinDir}` +
            (report.agent.answered ? ', and the agent logged nothing about it' : '') +
            ' (`switchyard inspect services` lists them)',
        );
      if (opts.output === 'json') {
        process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        return;
      }
      process.stdout.write(renderReport(report, where, service));
    });
}

export function diagnoseCommand(): Command {
  return new Command('diagnose')
    .description(
      'the Service troubleshooting checklist, automated: ✓/✗ per check with what to do; on a node (the ' +
        'API, its pins and agent) or in a lab (--lab)',
    )
    .argument('<service>', 'NAME or NAMESPACE/NAME')
    .option('--lab <name>', 'diagnose in this lab, from a client pod')
    .option(
      '--from <pod>',
      'the client pod (on a node: POD or NAMESPACE/POD; lab default: the first ready "client" pod)',
    )
    .option('--port <port>', 'the port you connect to (checked against the Service port and targetPort)', (v) =>
      Number(v),
    )
    .option('--kubeconfig <file>', 'on a node: the API server (default: the in-cluster config)')
    .option('--pin-dir <dir>', `on a node: the agent's pin directory (default ${DEFAULT_PIN_DIR})`)
    .option('--agent <url>', "on a node: the agent's admin endpoint (default: found from the pins)")
    .option('--hostname-override <name>', "on a node: this node's name as pods' nodeName says it (default hostname)")
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'))
    .action(async (service: string, opts: DiagnoseOptions) => {
      const checks = opts.lab ? await labDiagnose(service, opts) : await nodeDiagnose(service, opts);
      if (opts.output === 'json') process.stdout.write(`${JSON.stringify(checks, null, 2)}\n`);
      else {
        const { renderChecks } = await import('../explain/checks.js');
        process.stdout.write(renderChecks(checks));
      }
      if (checks.some((c) => c.status === 'fail')) process.exitCode = 1;
    });
}

interface DiagnoseOptions {
  lab?: string;
  from?: string;
  port?: number;
  kubeconfig?: string;
  pinDir?: string;
  agent?: string;
  hostnameOverride?: string;
  output: Output;
}

async function labDiagnose(service: string, opts: DiagnoseOptions) {
  const { Lab } = await import('../lab/lab.js');
  const { diagnose } = await import('../lab/lab-diagnose.js');
  return diagnose(Lab.open(opts.lab!), service, { from: opts.from, port: opts.port });
}

async function nodeDiagnose(service: string, opts: DiagnoseOptions) {
  const { hostname } = await import('node:os');
  const { connect } = await import('../k8s/kubeconfig.js');
  const { listRaw } = await import('../k8s/list.js');
  const { apiPath } = await import('../model/kinds.js');
  const { defaultAgentUrl } = await import('../explain/agent-client.js');
  const { diagnoseNode } = await import('../explain/diagnose-node.js');
  const api = await connect({ kubeconfig: opts.kubeconfig });
  const pinDir = opts.pinDir ?? DEFAULT_PIN_DIR;
  return diagnoseNode(service, {
    api: {
      list: async (kind, namespace, labelSelector) =>
        (await listRaw(api, apiPath(kind, namespace), { labelSelector })).items as never,
    },
    pinDir,
    nodeName: opts.hostnameOverride ?? hostname(),
    agentUrl: opts.agent ?? defaultAgentUrl(pinDir),
    from: opts.from,
    port: opts.port,
  });
}

function addrPort(v: string, what: string, needPort: boolean): { addr: string; port: number } {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3})(?::(\d{1,5}))?$/.exec(v);
  if (!m || (needPort && !m[2]))
    throw new Error(`${what} "${v}": expected ADDR${needPort ? ':PORT' : '[:PORT]'} (IPv4)`);
  return { addr: m[1], port: m[2] ? Number(m[2]) : 43210 };
}

export function traceCommand(): Command {
  return pinOptions(new Command('trace'))
    .description('run a synthetic packet through the loaded data path (BPF_PROG_TEST_RUN, live maps, no state left)')
    .requiredOption('--from <addr[:port]>', 'the client address (and port; default 43210)')
    .requiredOption('--to <addr:port>', 'the destination: a Service frontend, or anything')
    .addOption(new Option('--proto <proto>', 'protocol').choices(['tcp', 'udp']).default('tcp'))
    .addOption(
      new Option('--device <dev>', 'which program: a pod veth (from_pod) or an uplink (from_netdev)')
        .choices(['pod', 'netdev'])
        .default('pod'),
    )
    .option('--netns <ns>', "run inside this network namespace (the node's, for its routes); --lab sets it")
    .option('--object <path>', "the BPF object (default: the agent's)")
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'))
    .action(
      async (
        opts: PinOptions & {
          from: string;
          to: string;
          proto: 'tcp' | 'udp';
          device: 'pod' | 'netdev';
          netns?: string;
          object?: string;
          output: Output;
        },
      ) => {
        const { pinDir, where } = await pinDirOf(opts);
        let netns = opts.netns;
        if (opts.lab && !netns) {
          const { requireState } = await import('../lab/lab-state.js');
          const st = requireState(opts.lab);
          netns = st.nodes.find((n) => n.name === (opts.node ?? st.nodes[0]?.name))?.ns;
        }
        const { DEFAULT_BPF_OBJECT } = await import('../agent/config.js');
        const { trace } = await import('../explain/trace.js');
        const r = trace({
          pinDir,
          object: opts.object ?? DEFAULT_BPF_OBJECT,
          from: addrPort(opts.from, '--from', false),
          to: addrPort(opts.to, '--to', true),
          proto: opts.proto,
          device: opts.device,
          netns,
        });
        if (opts.output === 'json') {
          process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
          return;
        }
        const out = [
          `Trace on ${where}, program ${r.program}${netns ? ` in ${netns}` : ''}`,
          `  packet in:  ${r.packetIn}`,
        ];
        if (r.frontend) {
          const f = r.frontend;
          out.push(
            `  frontend:   ${f.service} (svc ${f.svcId}), set ${f.setId} gen ${f.gen}, ${f.count} ` +
              `backend(s)${f.policy.length ? `; ${f.policy.join('; ')}` : ''}`,
          );
        }
        if (r.backend)
          out.push(
            `  backend:    ${r.backend.id} ${r.backend.address}` +
              (r.backend.slot ? `, slot ${r.backend.slot} of ${r.frontend?.count}` : '') +
              `; affinity ${r.backend.affinity}`,
          );
        out.push(`  verdict:    ${r.verdict}`);
        out.push(`  rewrite:    ${r.rewrite.join('; ') || 'none'}`);
        if (r.packetOut) out.push(`  packet out: ${r.packetOut}`);
        for (const n of r.notes) out.push(`  note: ${n}`);
        process.stdout.write(`${out.join('\n')}\n`);
      },
    );
}
