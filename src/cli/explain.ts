// `switchyard explain SERVICE[:PORT]`: one Service port as the data path holds it, from the pinned
// maps (the agent may be stopped), with drift. On a lab, --lab NAME --node NODE finds the pins.
import { Command, Option } from 'commander';
import { DEFAULT_PIN_DIR } from '../agent/config.js';

type Output = 'table' | 'json';
export interface PinOptions { pinDir?: string; lab?: string; node?: string }

/** The pin directory: --pin-dir, or a lab node's (default node1), or the agent's default. */
export async function pinDirOf(o: PinOptions): Promise<{ pinDir: string; where: string }> {
  if (o.lab) {
    const { requireState } = await import('../lab/lab-state.js');
    const st = requireState(o.lab);
    const node = o.node ?? st.nodes[0]?.name;
    const agent = st.agents[node ?? ''];
    if (!agent) throw new Error(`lab "${o.lab}" has no node "${node}" (nodes: ${st.nodes.map((n) => n.name).join(', ')})`);
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
    .description('one Service port as the data path holds it: frontends, backend set, affinity, flows, counters, drift')
    .argument('<service>', 'NAME, NAMESPACE/NAME, optionally :PORT (its name or number)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'))
    .action(async (service: string, opts: PinOptions & { output: Output }) => {
      const { pinDir, where } = await pinDirOf(opts);
      const { readPinnedMaps } = await import('../inspect/read.js');
      const { explain } = await import('../explain/explain.js');
      const found = explain(readPinnedMaps(pinDir), service);
      if (!found.length) throw new Error(`no Service port "${service}" in the maps in ${pinDir} (\`switchyard inspect services\` lists them)`);
      if (opts.output === 'json') {
        process.stdout.write(JSON.stringify(found, null, 2) + '\n');
        return;
      }
      const { renderExplained } = await import('../explain/render.js');
      process.stdout.write(found.map((e) => renderExplained(e, where)).join('\n'));
    });
}
