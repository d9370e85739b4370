// The `switchyard` command line: one entry point, subcommands registered from their modules.
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { agentCommand } from './agent.js';
import { diagnoseCommand, explainCommand, traceCommand } from './explain.js';
import { inspectCommand } from './inspect.js';
import { labCommand } from './lab.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

export function buildCli(): Command {
  const program = new Command('switchyard')
    .description('An eBPF replacement for kube-proxy: Services in the kernel, driven from Kubernetes objects')
    .version(pkg.version, '-V, --version')
    .showHelpAfterError();
  program.addCommand(agentCommand());
  program.addCommand(inspectCommand());
  program.addCommand(explainCommand());
  program.addCommand(diagnoseCommand());
  program.addCommand(traceCommand());
  program.addCommand(labCommand());
  return program;
}

// Bad flags print one line and exit 2, as kube-proxy does; a failing command exits 1.
const cli = buildCli();
cli.exitOverride();
for (const sub of cli.commands) sub.exitOverride();
try {
  await cli.parseAsync(process.argv);
} catch (err) {
  const code = (err as { code?: string }).code ?? '';
  if (code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help') process.exit(0);
  if (code.startsWith('commander.')) process.exit(2);
  console.error(`switchyard: ${(err as Error).message}`);
  process.exit(1);
}
