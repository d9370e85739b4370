// Flags and the --config file of `switchyard agent`: parsing, precedence, and the one-line
// errors that main.ts turns into exit code 2.
import { CommanderError, type Command } from 'commander';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ConfigError,
  DEFAULT_PIN_DIR,
  healthTimeoutMs,
  parseBindAddress,
  parseCidrList,
  parseConfigFile,
  parseDuration,
} from '../../src/agent/config.js';
import { agentCommand, configFromCommand } from '../../src/cli/agent.js';
import { KubeConfigError, loadApiAccess } from '../../src/k8s/kubeconfig.js';

const tmp = mkdtempSync(join(tmpdir(), 'sy-agent-config-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The agent command with its output captured and exits turned into throws. */
function command(opts: { runAction?: boolean } = {}): { cmd: Command; stderr: string[] } {
  const stderr: string[] = [];
  const cmd = agentCommand()
    .exitOverride()
    .configureOutput({ writeErr: (s) => stderr.push(s), writeOut: () => {} });
  if (!opts.runAction) cmd.action(() => {});
  return { cmd, stderr };
}

function parse(args: string[], env = { inCluster: false }) {
  const { cmd } = command();
  cmd.parse(args, { from: 'user' });
  return configFromCommand(cmd, env);
}

async function failure(args: string[], runAction = false): Promise<{ err: CommanderError; lines: string[] }> {
  const { cmd, stderr } = command({ runAction });
  try {
    await cmd.parseAsync(args, { from: 'user' });
  } catch (err) {
    expect(err).toBeInstanceOf(CommanderError);
    return { err: err as CommanderError, lines: stderr.join('').trimEnd().split('\n') };
  }
  throw new Error(`expected ${args.join(' ')} to fail`);
}

describe('value parsers', () => {
  it('reads Go-style durations', () => {
    expect(parseDuration('100ms')).toBe(100);
    expect(parseDuration('1s')).toBe(1000);
    expect(parseDuration('1m30s')).toBe(90_000);
    expect(parseDuration('1.5h')).toBe(5_400_000);
    expect(parseDuration('0')).toBe(0);
    for (const bad of ['nope', '1', '-1s', '1x', '', 's']) expect(() => parseDuration(bad), bad).toThrow(/duration/);
  });

  it('reads bind addresses; empty disables', () => {
    expect(parseBindAddress('0.0.0.0:10256')).toEqual({ host: '0.0.0.0', port: 10256 });
    expect(parseBindAddress('127.0.0.1:0')).toEqual({ host: '127.0.0.1', port: 0 });
    expect(parseBindAddress(':10249')).toEqual({ host: '0.0.0.0', port: 10249 });
    expect(parseBindAddress('[::1]:9')).toEqual({ host: '::1', port: 9 });
    expect(parseBindAddress('localhost:10249')).toEqual({ host: 'localhost', port: 10249 });
    expect(parseBindAddress('')).toBe(false);
    for (const bad of [
      '10256',
      'bad host:1',
      '-x:1',
      '1.2.3.4:70000',
      '1.2.3:80',
      '::1:80',
      '1.2.3.4:',
      '[1.2.3.4]:80',
    ]) {
      expect(() => parseBindAddress(bad), bad).toThrow(/IP:port|port/);
    }
  });

  it('reads CIDR lists', () => {
    expect(parseCidrList('10.0.0.0/8, 192.168.1.0/24')).toEqual(['10.0.0.0/8', '192.168.1.0/24']);
    expect(parseCidrList('fd00::/64')).toEqual(['fd00::/64']);
    for (const bad of ['10.0.0.0', '10.0.0.0/33', 'x/8', ',', '10.0.0.0/8,nope'])
      expect(() => parseCidrList(bad), bad).toThrow(/CIDR/);
  });

  it('gives a health timeout of 2 × min-sync-period, at least 10 s', () => {
    expect(healthTimeoutMs(100)).toBe(10_000);
    expect(healthTimeoutMs(30_000)).toBe(60_000);
  });
});

describe('agent flags', () => {
  it("has kube-proxy's defaults", () => {
    const cfg = parse(['--manifests', '/m']);
    expect(cfg.source).toEqual({ kind: 'manifests', dir: '/m' });
    expect(cfg.healthzBindAddress).toEqual({ host: '0.0.0.0', port: 10256 });
    expect(cfg.metricsBindAddress).toEqual({ host: '127.0.0.1', port: 10249 });
    expect(cfg.minSyncPeriodMs).toBe(100);
    expect(cfg.pinDir).toBe(DEFAULT_PIN_DIR);
    expect(cfg.logLevel).toBe('info');
    expect(cfg.nodePortAddresses).toEqual([]);
  });

  it('parses every flag', () => {
    const cfg = parse([
      '--kubeconfig',
      '/k',
      '--apiserver-host',
      '10.0.0.1',
      '--apiserver-port',
      '6443',
      '--hostname-override',
      'n1',
      '--nodeport-addresses',
      '10.0.0.0/8',
      '--cluster-cidr',
      '10.244.0.0/16',
      '--healthz-bind-address',
      '127.0.0.1:0',
      '--metrics-bind-address',
      '',
      '--min-sync-period',
      '1s',
      '--pod-devices',
      'veth*,lxc*',
      '--devices',
      'eth0',
      '--pin-dir',
      '/p',
      '--bpf-object',
      '/o',
      '--log-level',
      'debug',
    ]);
    expect(cfg).toMatchObject({
      source: { kind: 'kubernetes', kubeconfig: '/k', apiserverHost: '10.0.0.1', apiserverPort: 6443 },
      hostnameOverride: 'n1',
      nodePortAddresses: ['10.0.0.0/8'],
      clusterCidr: ['10.244.0.0/16'],
      healthzBindAddress: { host: '127.0.0.1', port: 0 },
      metricsBindAddress: null,
      minSyncPeriodMs: 1000,
      podDevices: 'veth*,lxc*',
      devices: 'eth0',
      pinDir: '/p',
      bpfObject: '/o',
      logLevel: 'debug',
    });
  });

  it('takes the load-balancing algorithm and a prime Maglev table size, random and 16381 by default', () => {
    expect(parse(['--manifests', '/m'])).toMatchObject({ lbAlgorithm: 'random', maglevTableSize: 16381 });
    expect(parse(['--manifests', '/m', '--lb-algorithm', 'maglev', '--maglev-table-size', '65521'])).toMatchObject({
      lbAlgorithm: 'maglev',
      maglevTableSize: 65521,
    });
  });

  it('uses the in-cluster config when there is no --manifests or --kubeconfig', () => {
    expect(parse([], { inCluster: true }).source).toEqual({ kind: 'kubernetes' });
  });

  it('rejects a bad value in one line naming the flag and the value', async () => {
    const { err, lines } = await failure(['--min-sync-period', 'nope']);
    expect(err.code).toMatch(/^commander\./); // main.ts: commander.* → exit 2
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/--min-sync-period.*nope/);
    for (const [flag, value] of [
      ['--nodeport-addresses', '10.0.0.0/40'],
      ['--healthz-bind-address', 'localhost'],
      ['--apiserver-host', '10.0.0'],
      ['--log-level', 'loud'],
      ['--apiserver-port', '0'],
      ['--apiserver-host', 'https://x'],
      ['--pod-devices', ','],
      ['--lb-algorithm', 'round-robin'],
      ['--maglev-table-size', '16384'],
      ['--maglev-table-size', '65537'],
      // The IPv6 pod range goes into config6 (bpf/switchyard.h): a bad one never reaches compile.
      ['--cluster-cidr', '10.244.0.0/16,fd00:10:244::/129'],
      ['--cluster-cidr', 'fd00:10:244:/56'],
    ]) {
      const f = await failure([flag, value]);
      expect(f.lines, flag).toHaveLength(1);
      expect(f.lines[0]).toContain(flag);
      expect(f.lines[0]).toContain(value);
    }
  });

  it('rejects an unknown flag in one line', async () => {
    const { err, lines } = await failure(['--bogus']);
    expect(err.code).toBe('commander.unknownOption');
    expect(lines).toHaveLength(1);
  });

  it('rejects two sources, and no source, with exit code 2 and one line', async () => {
    let f = await failure(['--manifests', '/m', '--kubeconfig', '/k'], true);
    expect(f.err.exitCode).toBe(2);
    expect(f.err.code).toMatch(/^commander\./);
    expect(f.lines).toEqual([expect.stringMatching(/--manifests and --kubeconfig both given/)]);
    f = await failure(['--manifests', '/m', '--apiserver-host', 'x'], true);
    expect(f.lines).toEqual([expect.stringMatching(/--apiserver-host "x".*--manifests/)]);
    expect(() => parse(['--log-level', 'debug'])).toThrow(/no source/);
  });

  it('--socket-lb all serves pods, found through --pod-devices: without it, one line naming both', () => {
    expect(parse(['--manifests', '/m', '--socket-lb', 'all', '--pod-devices', 'veth*']).socketLb).toBe('all');
    expect(() => parse(['--manifests', '/m', '--socket-lb', 'all'])).toThrow(/--socket-lb all: needs --pod-devices/);
    expect(() => parse(['--manifests', '/m', '--socket-lb', 'pods'])).toThrow(/disabled, host or all/);
  });
});

describe('--config file', () => {
  const file = (name: string, text: string) => {
    const p = join(tmp, name);
    writeFileSync(p, text);
    return p;
  };

  it('reads camelCase keys; flags override the file', () => {
    const p = file(
      'good.yaml',
      [
        'manifests: /from-file',
        'minSyncPeriod: 2s',
        'healthzBindAddress: "127.0.0.1:0"',
        'logLevel: warn',
        'podDevices: [veth*, lxc*]',
        'nodePortAddresses:',
        '  - 10.0.0.0/8',
        '  - 192.168.0.0/16',
        '',
      ].join('\n'),
    );
    const cfg = parse(['--config', p, '--log-level', 'error']);
    expect(cfg).toMatchObject({
      source: { kind: 'manifests', dir: '/from-file' },
      minSyncPeriodMs: 2000,
      healthzBindAddress: { host: '127.0.0.1', port: 0 },
      logLevel: 'error',
      podDevices: 'veth*,lxc*',
      nodePortAddresses: ['10.0.0.0/8', '192.168.0.0/16'],
      metricsBindAddress: { host: '127.0.0.1', port: 10249 },
      configFile: p,
    });
    expect(parse(['--config', p, '--min-sync-period', '5s']).minSyncPeriodMs).toBe(5000);
  });

  it('names an unknown key', () => {
    const p = file('unknown.yaml', 'manifests: /m\nhealthzBindAdress: 0.0.0.0:1\n');
    expect(() => parse(['--config', p])).toThrow(ConfigError);
    expect(() => parse(['--config', p])).toThrow(/unknown key "healthzBindAdress"/);
  });

  it('names the key and the value of a bad setting', () => {
    const p = file('bad.yaml', 'manifests: /m\nminSyncPeriod: nope\n');
    expect(() => parse(['--config', p])).toThrow(/bad\.yaml: minSyncPeriod: "nope": expected a duration/);
    expect(() => parseConfigFile('x.yaml', 'minSyncPeriod: 1')).toThrow(/minSyncPeriod: "1"/);
    expect(() => parseConfigFile('x.yaml', 'clusterCidr: [10.244.0.0/16, "fd00:10:244::/129"]')).toThrow(
      /x\.yaml: clusterCidr: .*"fd00:10:244::\/129" is not a CIDR/,
    );
    expect(() => parseConfigFile('x.yaml', 'podDevices: {a: 1}')).toThrow(/podDevices: .*expected a string or a list/);
    expect(() => parseConfigFile('x.yaml', '- a\n- b')).toThrow(/mapping/);
    expect(() => parseConfigFile('x.yaml', 'a: [')).toThrow(/not valid YAML/);
    expect(() => parse(['--config', join(tmp, 'missing.yaml')])).toThrow(/cannot read: ENOENT/);
  });

  it('names the file in a conflict between file and flags', () => {
    const p = file('conflict.yaml', 'kubeconfig: /k\n');
    expect(() => parse(['--config', p, '--manifests', '/m'])).toThrow(
      /--manifests and .*conflict\.yaml: kubeconfig both given/,
    );
  });

  it('turns a bad file into exit code 2 with one line', async () => {
    const p = file('bad2.yaml', 'manifests: /m\nmetricsBindAddress: everywhere\n');
    const { err, lines } = await failure(['--config', p], true);
    expect(err.exitCode).toBe(2);
    expect(lines).toEqual([expect.stringMatching(/metricsBindAddress: "everywhere": expected IP:port/)]);
  });
});

// Each load runs the kubeconfig child, which imports client-node: seconds on a loaded machine.
describe('API server address override', { timeout: 30_000 }, () => {
  const kubeconfig = join(tmp, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      'current-context: c',
      'clusters: [{name: k, cluster: {server: "https://10.96.0.1:443", insecure-skip-tls-verify: true}}]',
      'users: [{name: u, user: {token: t}}]',
      'contexts: [{name: c, context: {cluster: k, user: u}}]',
      '',
    ].join('\n'),
  );

  it('keeps the kubeconfig address without an override', async () => {
    const kc = await loadApiAccess({ kubeconfig });
    expect(kc.server).toBe('https://10.96.0.1:443');
  });

  it('replaces host and port of the kubeconfig', async () => {
    let kc = await loadApiAccess({ kubeconfig, apiserverHost: '172.18.0.2' });
    expect(kc.server).toBe('https://172.18.0.2:443');
    kc = await loadApiAccess({ kubeconfig, apiserverHost: 'cp', apiserverPort: 6443 });
    expect(kc.server).toBe('https://cp:6443');
    expect(kc.tlsServerName).toBeUndefined();
  });

  it('in a cluster: moves off the ClusterIP to the given host, port 6443, verifying kubernetes.default.svc', async () => {
    const root = join(tmp, 'pod');
    const sa = join(root, 'var/run/secrets/kubernetes.io/serviceaccount');
    mkdirSync(sa, { recursive: true });
    for (const f of ['token', 'ca.crt', 'namespace']) writeFileSync(join(sa, f), 'x');
    const saved = { host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT };
    process.env.KUBERNETES_SERVICE_HOST = '10.96.0.1';
    process.env.KUBERNETES_SERVICE_PORT = '443';
    try {
      const kc = await loadApiAccess({ apiserverHost: 'kind-control-plane' }, root);
      expect(kc.server).toBe('https://kind-control-plane:6443');
      expect(kc.tlsServerName).toBe('kubernetes.default.svc');
    } finally {
      if (saved.host === undefined) delete process.env.KUBERNETES_SERVICE_HOST;
      else process.env.KUBERNETES_SERVICE_HOST = saved.host;
      if (saved.port === undefined) delete process.env.KUBERNETES_SERVICE_PORT;
      else process.env.KUBERNETES_SERVICE_PORT = saved.port;
    }
  });

  it('reports an unreadable kubeconfig as a config error', async () => {
    await expect(loadApiAccess({ kubeconfig: join(tmp, 'nope') })).rejects.toThrow(KubeConfigError);
  });
});

// The whole path through main.ts, when the build exists (`npx tsc -p tsconfig.json`).
const mainJs = new URL('../../dist/cli/main.js', import.meta.url).pathname;
describe.skipIf(!existsSync(mainJs))('switchyard agent (built CLI)', () => {
  it('exits 2 with one line for a bad flag', () => {
    const r = spawnSync(process.execPath, [mainJs, 'agent', '--min-sync-period', 'nope'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.status).toBe(2);
    expect(r.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(/--min-sync-period.*nope/)]);
  });

  it('exits 2 with one line for a bad config file', () => {
    const p = join(tmp, 'cli-bad.yaml');
    writeFileSync(p, 'manifests: /m\nminSyncPeriod: soon\n');
    const r = spawnSync(process.execPath, [mainJs, 'agent', '--config', p], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(2);
    expect(r.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(/minSyncPeriod: "soon"/)]);
  });

  it('exits 2 with one line for an unreadable kubeconfig, before listening on anything', () => {
    const r = spawnSync(process.execPath, [mainJs, 'agent', '--kubeconfig', join(tmp, 'no-such-kubeconfig')], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.status).toBe(2);
    expect(r.stderr.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/--kubeconfig ".*no-such-kubeconfig": cannot load/),
    ]);
    expect(r.stdout).not.toMatch(/listening/);
  });
});
