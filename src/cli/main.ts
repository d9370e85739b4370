// The `switchyard` command line: one entry point, subcommands registered from their modules.
import { Command } from 'commander';
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

export function buildCli(): Command {
  const program = new Command('switchyard')
    .description('An eBPF replacement for kube-proxy: Services in the kernel, driven from Kubernetes objects')
    .version(pkg.version, '-V, --version')
    .showHelpAfterError();
  return program;
}

await buildCli().parseAsync(process.argv);
