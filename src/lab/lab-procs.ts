// Processes of the lab: started detached inside a namespace (they outlive the CLI), logging to a
// file in the state dir, stopped by PID. And the few looks inside a namespace the lab needs:
// an HTTP GET on its loopback (health, metrics), whether a pod listens, whether a veth has a program.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { inNetns, silenceLibbpf, tcPrograms } from '../bpf/index.js';
import { inCgroup } from './cgroups.js';
import { pidAlive } from './lab-state.js';

/** Starts `argv` inside `ns` (and `cgroup`, when given) in its own session; the shell that joins
 *  the cgroup and `ip netns exec` both exec, so the PID is the program's. */
export function spawnDetached(
  ns: string,
  argv: string[],
  logFile: string,
  env?: NodeJS.ProcessEnv,
  cgroup?: string,
): number {
  const fd = openSync(logFile, 'a');
  try {
    const cmd = cgroup ? inCgroup(cgroup, ['ip', 'netns', 'exec', ns, ...argv]) : ['ip', 'netns', 'exec', ns, ...argv];
    const child = spawn(cmd[0], cmd.slice(1), {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: env ?? process.env,
    });
    child.unref();
    if (!child.pid) throw new Error(`could not start ${argv.join(' ')} in ${ns}`);
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** SIGTERM, wait up to `graceMs`, then SIGKILL. True when the process is gone. */
export async function stopPid(pid: number | undefined, graceMs = 5000): Promise<boolean> {
  if (!pid || !pidAlive(pid)) return true;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return true;
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!pidAlive(pid)) return true;
    await sleep(25);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone */
  }
  for (let i = 0; i < 40 && pidAlive(pid); i++) await sleep(25);
  return !pidAlive(pid);
}

let haveCurl: boolean | undefined;

/** GET on a URL reachable only inside `ns` (its loopback): curl if installed, else node's fetch. */
export function nsHttpGet(ns: string, url: string, timeoutMs = 1500): { status: number; body: string } | undefined {
  haveCurl ??= spawnSync('curl', ['--version'], { stdio: 'ignore' }).status === 0;
  const secs = String(timeoutMs / 1000);
  const argv = haveCurl
    ? ['curl', '-s', '-m', secs, '-w', '\n%{http_code}', url]
    : [
        process.execPath,
        '-e',
        `fetch(${JSON.stringify(url)},{signal:AbortSignal.timeout(${timeoutMs})}).then(async r=>process.stdout.write((await r.text())+"\\n"+r.status),()=>process.exit(7))`,
      ];
  const r = spawnSync('ip', ['netns', 'exec', ns, ...argv], { encoding: 'utf8', timeout: timeoutMs + 3000 });
  if (r.status !== 0 || !r.stdout) return undefined;
  const cut = r.stdout.lastIndexOf('\n');
  const status = Number(r.stdout.slice(cut + 1));
  return status ? { status, body: r.stdout.slice(0, cut) } : undefined;
}

/** Whether the process (in its own network namespace) listens on TCP `port` and has UDP `udpPort` bound. */
export function listening(pid: number, port: number, udpPort?: number): boolean {
  const has = (file: string, p: number, listenOnly: boolean) => {
    try {
      const hex = p.toString(16).toUpperCase().padStart(4, '0');
      return readFileSync(`/proc/${pid}/net/${file}`, 'utf8')
        .split('\n')
        .slice(1)
        .some((line) => {
          const f = line.trim().split(/\s+/);
          return f[1]?.endsWith(`:${hex}`) && (!listenOnly || f[3] === '0A');
        });
    } catch {
      return false;
    }
  };
  return has('tcp', port, true) && (udpPort === undefined || has('udp', udpPort, false));
}

/** Whether a BPF program sits on the tc ingress hook (tcx or clsact) of `ifname` in `ns` (read only). */
export function tcAttached(ns: string, ifname: string): boolean {
  silenceLibbpf(); // "no clsact qdisc" is an answer here, not news for stderr
  try {
    return inNetns(ns, () => tcPrograms(ifname, 'ingress').length > 0);
  } catch {
    return false; // no such namespace or interface (yet)
  }
}

/** PIDs of every process inside a named network namespace. */
export function pidsIn(ns: string): number[] {
  const r = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.split('\n').filter(Boolean).map(Number) : [];
}

/** Mount points at or under `dir` (deepest first, to unmount in order). */
export function mountsUnder(dir: string): string[] {
  let text = '';
  try {
    text = readFileSync('/proc/self/mounts', 'utf8');
  } catch {
    return [];
  }
  const base = dir.replace(/\/$/, '');
  return text
    .split('\n')
    .map((l) => l.split(' ')[1]?.replace(/\\040/g, ' '))
    .filter((m): m is string => !!m && (m === base || m.startsWith(`${base}/`)))
    .sort((a, b) => b.length - a.length);
}

/** Prometheus text → value of an unlabelled metric. */
export function metricValue(text: string, name: string): number | undefined {
  const m = new RegExp(`^${name} ([^\\s]+)`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}
