// A cluster of several nodes for e2e tests and benchmarks, on src/lab/topology.ts: an underlay
// bridge, nodes with eth0 on it, pods routed behind veths, an external client that reaches the
// nodes but not the pods, and one real agent process per node (pods' veths and eth0 attached),
// all fed from one manifest directory. Everything lives in namespaces named after a prefix unique
// to the run; destroy() removes every namespace, process, pin and file it made.
import { adminSocketPath } from '../../src/inspect/admin.js';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import type { ProbeResult } from '../../src/lab/probe.js';
import { pollUntil } from '../../src/util/poll.js';
import { probeAsync, runProbe, stopProcess } from './probe.js';
import { mountBpffs, nsRun, run, spawnIn, unmountBpffs } from '../../src/lab/namespaces.js';
import {
  addPod,
  createTopology,
  destroyTopology,
  EXTERNAL_ADDRESS,
  type NodeInfo,
  type PodInfo,
  type Topology,
} from '../../src/lab/topology.js';

const ROOT = new URL('../..', import.meta.url).pathname;
export const NODE_BIN = process.execPath;

export { EXTERNAL_ADDRESS };

export class MultiNodeCluster {
  /** sy + 5 random characters: short enough for interface names (topology allows 9). */
  readonly prefix = `sy${randomBytes(4).toString('hex').slice(0, 5)}`;
  readonly workDir = mkdtempSync(join(tmpdir(), `${this.prefix}-`));
  readonly manifests = join(this.workDir, 'manifests');
  readonly topo: Topology;
  private readonly pinDirs = new Map<string, string>();
  private readonly agents = new Map<string, ChildProcess>();
  private readonly servers: ChildProcess[] = [];

  constructor(nodeCount = 2) {
    run('mkdir', ['-p', this.manifests]);
    try {
      this.topo = createTopology(this.prefix, nodeCount);
      for (const node of this.topo.nodes) {
        const dir = `/run/${this.prefix}-${node.name}-bpf`;
        mountBpffs(dir);
        this.pinDirs.set(node.name, dir);
      }
    } catch (err) {
      this.cleanupSync();
      throw err;
    }
  }

  get nodes(): NodeInfo[] {
    return this.topo.nodes;
  }
  get externalNs(): string {
    return this.topo.externalNs;
  }
  node(name: string): NodeInfo {
    const n = this.topo.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`no node ${name}`);
    return n;
  }
  pod(name: string): PodInfo {
    const p = this.topo.pods.find((x) => x.name === name);
    if (!p) throw new Error(`no pod ${name}`);
    return p;
  }

  /** A pod on `node` running the lab's HTTP (:80) / UDP (:5353) server, or nothing (a client). */
  addPod(node: string, name: string, opts: { serve?: boolean } = {}): PodInfo {
    const pod = addPod(this.topo, node, name);
    if (opts.serve !== false)
      this.servers.push(spawnIn(pod.ns, [NODE_BIN, join(ROOT, 'dist/lab/podserver.js'), name, 'v1', '80', '5353']));
    return pod;
  }

  writeManifest(file: string, yaml: string): void {
    writeFileSync(join(this.manifests, file), yaml);
  }

  agentLog(node: string): string {
    try {
      return readFileSync(join(this.workDir, `agent-${node}.log`), 'utf8');
    } catch {
      return '';
    }
  }

  /** One agent per node: pods' veths and eth0 attached, this node's name, its own pins. */
  startAgents(extraArgs: string[] = []): void {
    for (const node of this.topo.nodes) {
      const log = openSync(join(this.workDir, `agent-${node.name}.log`), 'a');
      this.agents.set(
        node.name,
        spawnIn(
          node.ns,
          [
            NODE_BIN,
            join(ROOT, 'dist/cli/main.js'),
            'agent',
            '--manifests',
            this.manifests,
            '--pod-devices',
            `${this.prefix}p*`,
            '--devices',
            'eth0',
            '--pin-dir',
            this.pinDirs.get(node.name)!,
            '--hostname-override',
            node.name,
            '--metrics-bind-address',
            '',
            ...extraArgs,
          ],
          { logFd: log },
        ),
      );
    }
  }

  async stopAgents(): Promise<void> {
    await Promise.all([...this.agents.values()].map((agent) => stopProcess(agent)));
    this.agents.clear();
  }

  /** Runs the lab's probe client in a namespace (a pod's, a node's, or the external client's). */
  probe(ns: string, args: string[]): ProbeResult {
    return runProbe(ns, args);
  }

  /** The probe in the background; resolves with its tally. */
  probeAsync(ns: string, args: string[]): Promise<ProbeResult> {
    return probeAsync(ns, args, this.workDir);
  }

  /** The HTTP status of a GET from a namespace (curl; 0 when nothing answered). */
  httpStatus(ns: string, url: string, timeoutS = 2): number {
    try {
      return Number(nsRun(ns, ['curl', '-s', '-o', '/dev/null', '-m', String(timeoutS), '-w', '%{http_code}', url]));
    } catch (err) {
      const m = /(\d{3})\s*$/.exec((err as Error).message);
      return m ? Number(m[1]) : 0;
    }
  }

  async waitFor(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
    if (await pollUntil(check, timeoutMs, 250)) return;
    const logs = this.topo.nodes.map((n) => `--- ${n.name}\n${this.agentLog(n.name).slice(-2000)}`).join('\n');
    throw new Error(`timed out waiting for ${what}; agent logs:\n${logs}`);
  }

  async destroy(): Promise<void> {
    await this.stopAgents();
    for (const s of this.servers) s.kill('SIGKILL');
    this.cleanupSync();
  }

  private cleanupSync(): void {
    destroyTopology(this.prefix);
    for (const dir of this.pinDirs.values()) {
      unmountBpffs(dir);
      rmSync(adminSocketPath(dir), { force: true }); // left when an agent was killed
    }
    rmSync(this.workDir, { recursive: true, force: true });
  }
}
