// A one-node cluster for e2e tests: a node namespace, pods behind veths, client pods, and a
// real agent process fed from a manifest directory. Names are unique to the run; destroy()
// removes every namespace, process, pin and file it made.
import { adminSocketPath } from '../../src/inspect/admin.js';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { kubeconfigFor } from '../../src/fakeapi/server.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { ProbeResult } from '../../src/lab/probe.js';
import { pollUntil } from '../../src/util/poll.js';
import { probeAsync, runProbe, stopProcess } from './probe.js';
import {
  createNode,
  createPod,
  deleteNamespace,
  mountBpffs,
  run,
  spawnIn,
  unmountBpffs,
} from '../../src/lab/namespaces.js';

const ROOT = new URL('../..', import.meta.url).pathname;
export const NODE_BIN = process.execPath;

export class OneNodeCluster {
  readonly id = `${process.pid % 100000}${Math.random().toString(36).slice(2, 4)}`;
  readonly nodeNs = `sy${this.id}-node`;
  readonly workDir = mkdtempSync(join(tmpdir(), `sy${this.id}-`));
  readonly manifests = join(this.workDir, 'manifests');
  readonly pinDir = `/run/sy${this.id}-bpf`;
  readonly agentLog = join(this.workDir, 'agent.log');
  readonly pods = new Map<string, { ns: string; ip: string; hostIf: string; server?: ChildProcess }>();
  private agent?: ChildProcess;
  private podCount = 0;

  constructor() {
    run('mkdir', ['-p', this.manifests]);
    createNode(this.nodeNs, '10.250.0.1');
    mountBpffs(this.pinDir);
  }

  /** A pod running the lab's HTTP/UDP server (or nothing, for a client). */
  addPod(name: string, opts: { serve?: boolean; version?: string } = {}): string {
    const n = ++this.podCount;
    const ns = `sy${this.id}-${name}`;
    const ip = `10.244.0.${n + 10}`;
    const hostIf = `sy${this.id}h${n}`;
    createPod(this.nodeNs, ns, hostIf, ip);
    const pod: { ns: string; ip: string; hostIf: string; server?: ChildProcess } = { ns, ip, hostIf };
    if (opts.serve !== false) {
      pod.server = spawnIn(ns, [
        NODE_BIN,
        join(ROOT, 'dist/lab/podserver.js'),
        name,
        opts.version ?? 'v1',
        '80',
        '5353',
      ]);
    }
    this.pods.set(name, pod);
    return ip;
  }

  writeManifest(file: string, yaml: string): void {
    writeFileSync(join(this.manifests, file), yaml);
  }

  removeManifest(file: string): void {
    rmSync(join(this.manifests, file), { force: true });
  }

  /** Starts the agent on the manifest directory, or on the API server with `kubeconfig`. */
  startAgent(opts: { kubeconfig?: string; extraArgs?: string[] } = {}): void {
    const log = openSync(this.agentLog, 'a');
    const source = opts.kubeconfig ? ['--kubeconfig', opts.kubeconfig] : ['--manifests', this.manifests];
    this.agent = spawnIn(
      this.nodeNs,
      [
        NODE_BIN,
        join(ROOT, 'dist/cli/main.js'),
        'agent',
        ...source,
        '--pod-devices',
        `sy${this.id}h*`,
        '--pin-dir',
        this.pinDir,
        '--hostname-override',
        'node1',
        ...(opts.extraArgs ?? []),
      ],
      { logFd: log },
    );
  }

  private api?: ChildProcess;
  readonly apiSocket = join(this.workDir, 'api.sock');

  /** The API-server double inside the node namespace (127.0.0.1:6443 there), objects kept in a
   *  state file across restarts; the test reaches it through a unix socket. Returns a kubeconfig. */
  async startApiServer(): Promise<string> {
    this.api = spawnIn(
      this.nodeNs,
      [
        NODE_BIN,
        join(ROOT, 'dist/fakeapi/main.js'),
        '--host',
        '127.0.0.1',
        '--port',
        '6443',
        '--socket',
        this.apiSocket,
        '--state',
        join(this.workDir, 'api-state.json'),
      ],
      { logFd: openSync(join(this.workDir, 'api.log'), 'a') },
    );
    await this.waitFor('the API server socket', () => existsSync(this.apiSocket));
    const kubeconfig = join(this.workDir, 'kubeconfig');
    writeFileSync(kubeconfig, kubeconfigFor('http://127.0.0.1:6443'));
    return kubeconfig;
  }

  stopApiServer(): Promise<void> {
    return stopProcess(this.api);
  }

  stopAgent(): Promise<void> {
    return stopProcess(this.agent);
  }

  /** When the agent applied a sync after `sinceMs` (epoch ms, from its pino lines). */
  syncTimesAfter(sinceMs: number): number[] {
    return this.agentLogText()
      .split('\n')
      .filter((l) => l.includes('"sync applied"'))
      .map((l) => (JSON.parse(l) as { time: number }).time)
      .filter((t) => t > sinceMs);
  }

  agentLogText(): string {
    try {
      return readFileSync(this.agentLog, 'utf8');
    } catch {
      return '';
    }
  }

  /** Runs the probe client inside a pod (or a namespace) and returns its tally. */
  probe(from: string, args: string[]): ProbeResult {
    return runProbe(this.pods.get(from)?.ns ?? from, args);
  }

  /** Starts the probe in the background; resolves with its tally when it ends. */
  probeAsync(from: string, args: string[]): Promise<ProbeResult> {
    return probeAsync(this.pods.get(from)?.ns ?? from, args, this.workDir);
  }

  async waitFor(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
    if (await pollUntil(check, timeoutMs, 200)) return;
    throw new Error(`timed out waiting for ${what}; agent log:\n${this.agentLogText().slice(-3000)}`);
  }

  async destroy(): Promise<void> {
    await this.stopAgent();
    await this.stopApiServer();
    for (const pod of this.pods.values()) deleteNamespace(pod.ns);
    deleteNamespace(this.nodeNs);
    unmountBpffs(this.pinDir);
    rmSync(adminSocketPath(this.pinDir), { force: true }); // left when the agent was killed
    rmSync(this.workDir, { recursive: true, force: true });
  }
}
