// The lab's cgroups (cgroup v2): one lab cgroup under the root of the unified hierarchy, named
// after the lab's prefix, with a child per node (its host processes: the agent, the API server,
// host-network pods' shells, `lab exec NODE`), one for the external host and one per pod. Socket
// programs attach to cgroups, so each node's and pod's processes must be told apart as they would
// be on real machines; the root cgroup is never touched.
//
// `ip netns exec` remounts /sys, hiding the unified mount from processes inside a namespace. The
// lab therefore bind-mounts its cgroup under its state dir (under /run, which stays visible), and
// gives agents that path (`--cgroup-root`).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LabError, type LabState } from './lab-state.js';
import { run } from './namespaces.js';

/** The mount point of the cgroup v2 (unified) hierarchy, from /proc/mounts. */
export function unifiedRoot(mounts = readFileSync('/proc/mounts', 'utf8')): string {
  for (const line of mounts.split('\n')) {
    const [, dir, type] = line.split(' ');
    if (type === 'cgroup2' && dir) return dir.replace(/\\040/g, ' ');
  }
  throw new LabError('no cgroup v2 hierarchy is mounted (no "cgroup2" line in /proc/mounts); the lab needs one');
}

export const labCgroupName = (prefix: string) => `switchyard-lab-${prefix}`;

/** The lab's cgroup as the CLI sees it (the host's mount). */
export const labCgroup = (prefix: string) => join(unifiedRoot(), labCgroupName(prefix));

/** A member's cgroup under the lab's: "node1", "external", "pod-NAME". */
export const memberCgroup = (prefix: string, member: string) => join(labCgroup(prefix), member);

export const podMember = (pod: string) => `pod-${pod}`;

export function createCgroup(dir: string): void {
  mkdirSync(dir, { recursive: true });
}

/** argv that joins `cgroup` and then execs `argv`: the PID stays the program's, and the program
 *  is in its cgroup before its first instruction. */
export function inCgroup(cgroup: string, argv: string[]): string[] {
  return ['sh', '-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', cgroup, ...argv];
}

/** Kills every process in a cgroup and its children, then removes them, deepest first. */
export function removeCgroup(dir: string): void {
  if (!existsSync(dir)) return;
  for (const child of readdirSync(dir, { withFileTypes: true }))
    if (child.isDirectory()) removeCgroup(join(dir, child.name));
  const procs = () => readFileSync(join(dir, 'cgroup.procs'), 'utf8').trim();
  if (procs()) writeFileSync(join(dir, 'cgroup.kill'), '1');
  // Killed processes leave the cgroup once they are reaped; rmdir fails with EBUSY until then.
  const deadline = Date.now() + 3000;
  for (;;) {
    try {
      rmdirSync(dir);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      if (Date.now() > deadline) throw new LabError(`cannot remove cgroup ${dir}: ${(err as Error).message}`);
      spawnSync('sleep', ['0.05']);
    }
  }
}

/** Bind-mounts the lab's cgroup (only its subtree) at `dir`, under the state dir, so processes
 *  in namespaces see it; returns that path. Teardown unmounts it with the pin dirs. */
export function mountForNamespaces(labDir: string, dir: string): string {
  mkdirSync(dir, { recursive: true });
  run('mount', ['--bind', labDir, dir]);
  return dir;
}

/** A member's cgroup in a lab's state (undefined for a lab made before the lab had cgroups). */
export const cgroupOf = (st: LabState, member: string) => (st.cgroup ? join(st.cgroup.dir, member) : undefined);

/** The lab cgroup and one child per member, and the mount that shows them inside namespaces. */
export function createLabCgroups(
  prefix: string,
  mountDir: string,
  members: string[],
): { dir: string; visible: string } {
  const dir = labCgroup(prefix);
  for (const m of members) createCgroup(join(dir, m));
  return { dir, visible: mountForNamespaces(dir, mountDir) };
}

/** The lab's cgroup if it exists (none when no cgroup v2 hierarchy is mounted at all). */
export function existingLabCgroup(prefix: string): string | undefined {
  try {
    const dir = labCgroup(prefix);
    return existsSync(dir) ? dir : undefined;
  } catch {
    return undefined;
  }
}
