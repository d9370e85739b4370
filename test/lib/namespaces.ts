// Test namespaces for the kernel tests: uniquely named network namespaces, veth pairs between
// them, commands inside them, and private bpffs mounts. Nothing here touches the root namespace's links or routes.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';

export function run(cmd: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}): string {
  try {
    return execFileSync(cmd, args, {
      encoding: 'utf8',
      input: opts.input,
      timeout: opts.timeoutMs ?? 30_000,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${(e.stderr || e.message).trim()}`);
  }
}

/** A name unique to this run: prefix + pid + random, at most 15 characters (an interface name). */
export function uniqueName(prefix: string): string {
  const tail = `${process.pid.toString(36)}${randomBytes(3).toString('hex')}`;
  return `${prefix.slice(0, Math.max(1, 15 - tail.length))}${tail}`.slice(0, 15);
}

export function listNetns(): string[] {
  const out = run('ip', ['-j', 'netns', 'list']).trim();
  return out ? (JSON.parse(out) as Array<{ name: string }>).map((n) => n.name) : [];
}

/** Creates a namespace with lo up. */
export function createNetns(name: string): void {
  run('ip', ['netns', 'add', name]);
  run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
}

/** Kills whatever runs inside, then deletes the namespace (with its interfaces). Absent is fine. */
export function deleteNetns(name: string): void {
  if (!listNetns().includes(name)) return;
  let pids: string[] = [];
  try {
    pids = run('ip', ['netns', 'pids', name]).split('\n').filter(Boolean);
  } catch {
    /* gone */
  }
  for (const pid of pids) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  run('ip', ['netns', 'del', name]);
}

/** Runs a command inside the namespace; returns stdout, throws with stderr. */
export function nsExec(ns: string, cmd: string[], opts: { input?: string; timeoutMs?: number } = {}): string {
  return run('ip', ['netns', 'exec', ns, ...cmd], opts);
}

export interface VethEnd {
  ns: string;
  ifname: string;
  addr: string /* CIDR, e.g. 10.200.7.1/24 */;
}

/** A veth pair from a.ns to b.ns (created inside a.ns, never in the root namespace), addressed and up. */
export function vethPair(a: VethEnd, b: VethEnd): void {
  run('ip', ['-n', a.ns, 'link', 'add', a.ifname, 'type', 'veth', 'peer', 'name', b.ifname, 'netns', b.ns]);
  for (const end of [a, b]) {
    run('ip', ['-n', end.ns, 'addr', 'add', end.addr, 'dev', end.ifname]);
    run('ip', ['-n', end.ns, 'link', 'set', end.ifname, 'up']);
  }
}

export interface TwoHosts {
  a: { ns: string; ifname: string; ip: string };
  b: { ns: string; ifname: string; ip: string };
  cleanup(): void;
}

/** Two namespaces joined by a veth pair on a private /24 (10.200.X.1 and .2), nothing else. */
export function twoHosts(prefix = 'sy'): TwoHosts {
  const nsA = uniqueName(`${prefix}a`),
    nsB = uniqueName(`${prefix}b`);
  const subnet = `10.200.${1 + Math.floor(Math.random() * 250)}`;
  const a = { ns: nsA, ifname: uniqueName('va'), ip: `${subnet}.1` };
  const b = { ns: nsB, ifname: uniqueName('vb'), ip: `${subnet}.2` };
  const cleanup = () => {
    for (const ns of [nsA, nsB]) {
      try {
        deleteNetns(ns);
      } catch {
        /* best effort */
      }
    }
  };
  try {
    createNetns(nsA);
    createNetns(nsB);
    vethPair({ ns: nsA, ifname: a.ifname, addr: `${a.ip}/24` }, { ns: nsB, ifname: b.ifname, addr: `${b.ip}/24` });
  } catch (err) {
    cleanup();
    throw err;
  }
  return { a, b, cleanup };
}

/** A fresh bpffs at a unique dir under /run (visible inside `ip netns exec`). cleanup: umount + rmdir. */
export function withBpffs(prefix = 'sy-test'): { dir: string; cleanup(): void } {
  const dir = `/run/${prefix}-${process.pid}-${randomBytes(4).toString('hex')}`;
  mkdirSync(dir, { recursive: true });
  try {
    run('mount', ['-t', 'bpf', 'bpf', dir]);
  } catch (err) {
    rmdirSync(dir);
    throw err;
  }
  return {
    dir,
    cleanup() {
      try {
        run('umount', [dir]);
      } catch {
        /* not mounted */
      }
      try {
        rmdirSync(dir);
      } catch {
        /* gone */
      }
    },
  };
}

/** Runs every teardown step even when an earlier one throws (a namespace already gone, a process
 *  already dead): one failed step must not leave the others' resources behind. */
export function cleanUp(steps: ReadonlyArray<() => unknown>): void {
  for (const step of steps) {
    try {
      step();
    } catch {
      /* each step cleans up independently of the others */
    }
  }
}
