// `switchyard agent`: the node agent, with kube-proxy's flag names where they mean the same.
import { Command, InvalidArgumentError } from 'commander';
import { pino } from 'pino';
import { Agent, DEFAULT_BPF_OBJECT, DEFAULT_PIN_DIR } from '../agent/agent.js';

export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!m) throw new InvalidArgumentError(`"${text}" is not a duration (like 1s, 500ms)`);
  const unit = m[2] ?? 's';
  return Number(m[1]) * (unit === 'ms' ? 1 : unit === 's' ? 1000 : 60_000);
}

export function agentCommand(): Command {
  return new Command('agent')
    .description('run the node agent: watch Services and EndpointSlices, program the kernel')
    .option('--manifests <dir>', 'standalone mode: a directory of Service/EndpointSlice YAML, watched for changes')
    .option('--pod-devices <globs>', 'comma-separated interface globs of pod veths (host side), e.g. "lxc*,veth*"')
    .option('--pin-dir <dir>', 'bpffs directory for the pinned maps', DEFAULT_PIN_DIR)
    .option('--bpf-object <file>', 'the compiled data-path object', DEFAULT_BPF_OBJECT)
    .option('--hostname-override <name>', 'this node\'s name, as in EndpointSlices\' nodeName')
    .option('--min-sync-period <duration>', 'coalesce changes: at most one sync per period', parseDuration, 100)
    .option('--log-level <level>', 'trace, debug, info, warn, error', 'info')
    .action(async (opts) => {
      const log = pino({ level: opts.logLevel, base: { component: 'agent' } });
      const agent = await Agent.start({
        manifests: opts.manifests, podDevices: opts.podDevices, pinDir: opts.pinDir,
        bpfObject: opts.bpfObject, hostnameOverride: opts.hostnameOverride,
        minSyncPeriodMs: opts.minSyncPeriod, log,
      });
      const shutdown = (signal: string) => {
        log.info({ signal }, 'stopping');
        agent.stop().then(() => process.exit(0), (err) => { log.error({ err }, 'stop failed'); process.exit(1); });
      };
      process.once('SIGTERM', () => shutdown('SIGTERM'));
      process.once('SIGINT', () => shutdown('SIGINT'));
    });
}
