// `switchyard agent`: the node agent, with kube-proxy's flag names where they mean the same.
// The flags come from the option table in src/agent/config.ts (which also reads --config), so the
// flags, the config-file keys and the DaemonSet's args are checked against one list. This file
// only parses; src/agent/main.ts builds and runs the agent.
// Bad flags or settings: one line on stderr and exit code 2, like kube-proxy.
import { Command, InvalidArgumentError, Option } from 'commander';
import { AGENT_OPTIONS, ConfigError, resolveAgentConfig, type AgentConfig, type ResolveEnv } from '../agent/config.js';
import { runAgent } from '../agent/main.js';

export function agentCommand(): Command {
  const cmd = new Command('agent').description(
    'run the node agent: watch Services and EndpointSlices, program the kernel',
  );
  for (const spec of AGENT_OPTIONS) {
    const opt = new Option(`${spec.flag} ${spec.arg}`, spec.help).argParser((value: string) => {
      try {
        return spec.parse(value);
      } catch (err) {
        throw new InvalidArgumentError((err as Error).message);
      }
    });
    if (spec.default) opt.default(spec.default.value, spec.default.shown);
    cmd.addOption(opt);
  }
  cmd.option('--cleanup', 'detach the socket-LB programs pinned under --pin-dir, then exit');
  cmd.action(async () => {
    if (cmd.opts().cleanup) {
      const { cleanupSocketLb } = await import('../agent/socklb.js');
      const pinDir = String(cmd.opts().pinDir);
      console.log(`detached: ${cleanupSocketLb(pinDir).join(', ') || 'nothing'} (${pinDir})`);
      return;
    }
    let cfg: AgentConfig;
    try {
      cfg = configFromCommand(cmd);
    } catch (err) {
      // cmd.error prints the one line and ends with exit code 2 (a CommanderError under exitOverride).
      if (err instanceof ConfigError) cmd.error(`error: ${err.message}`, { exitCode: 2 });
      throw err;
    }
    await runAgent(cfg, (message) => cmd.error(`error: ${message}`, { exitCode: 2 }));
  });
  return cmd;
}

/** The settings of a parsed `agent` command: flags over --config over defaults. */
export function configFromCommand(cmd: Command, env?: ResolveEnv): AgentConfig {
  return resolveAgentConfig(cmd.opts(), (key) => cmd.getOptionValueSource(key) === 'cli', env);
}
