// `lab down`: removes every trace of a lab — processes, namespaces, pin mounts, state — with or
// without its state file, so a crashed lab is cleaned as well as a healthy one.
import { adminSocketPath } from '../inspect/admin.js';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pollUntil } from '../util/poll.js';
import { existingLabCgroup, removeCgroup } from './cgroups.js';
import { mountsUnder, pidsIn, sleep } from './lab-procs.js';
import { checkName, loadState, pidAlive, prefixOf, stateDirOf, type LabState } from './lab-state.js';
import { deleteNamespace, listNamespaces } from './namespaces.js';
import { namespacesOf } from './topology.js';
import { NETNS_ETC } from './pod-env.js';
import type { Say } from './lab.js';

const quiet: Say = () => {};

export interface TeardownReport {
  processes: number;
  namespaces: string[];
  mounts: string[];
  stateDir?: string;
}

/**
 * Removes every trace of lab NAME, with or without its state file: the processes it recorded and
 * every process inside its namespaces (SIGTERM, then SIGKILL), the namespaces (by prefix), its
 * cgroups, the bpffs and cgroup mounts under its state dir, the state dir. Idempotent.
 */
export async function teardown(
  name: string,
  say: Say = quiet,
  opts: { keepLock?: boolean } = {},
): Promise<TeardownReport> {
  checkName(name);
  const prefix = prefixOf(name);
  const stateDir = stateDirOf(name);
  let st: LabState | undefined;
  try {
    st = loadState(name);
  } catch (err) {
    say(`${(err as Error).message}: going by names`);
  }
  const namespaces = [
    ...new Set([...namespacesOf(prefix), ...(st ? Object.values(st.pods).map((p) => p.netns) : [])]),
  ].filter((ns) => listNamespaces().includes(ns));
  const recorded = st
    ? [
        st.apiServer.pid,
        ...Object.values(st.agents).map((a) => a.pid),
        ...Object.values(st.pods).map((p) => p.pid ?? 0),
      ]
    : [];
  // A recorded PID counts only if it still runs inside one of our namespaces (PIDs get reused).
  const inside = new Set(namespaces.flatMap((ns) => pidsIn(ns)));
  const pids = [...new Set([...recorded.filter((p) => p && inside.has(p)), ...inside])].filter(
    (p) => p !== process.pid,
  );
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      /* gone */
    }
  }
  await pollUntil(() => pids.every((p) => !pidAlive(p)), 3000, 50);
  for (const pid of pids) {
    try {
      if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  await pollUntil(() => pids.every((p) => !pidAlive(p)), 3000, 50);
  if (pids.length) say(`stopped ${pids.length} process(es)`);
  // Nodes last: pods' veths die with the pod namespaces.
  const order = [...namespaces].sort(
    (a, b) => Number(/-(node\d+|underlay)$/.test(a)) - Number(/-(node\d+|underlay)$/.test(b)),
  );
  for (const ns of order) deleteNamespace(ns);
  // The pods' /etc/netns/NS (resolv.conf), by prefix too: a crash may have left some without state.
  for (const d of existsSync(NETNS_ETC) ? readdirSync(NETNS_ETC) : []) {
    if (d.startsWith(`${prefix}-`)) rmSync(join(NETNS_ETC, d), { recursive: true, force: true });
  }
  if (namespaces.length) say(`deleted ${namespaces.length} namespace(s): ${namespaces.join(' ')}`);
  const mounts = mountsUnder(stateDir);
  for (const m of mounts) {
    const r = spawnSync('umount', [m], { encoding: 'utf8' });
    if (r.status !== 0) {
      await sleep(200);
      const again = spawnSync('umount', ['-l', m], { encoding: 'utf8' });
      if (again.status !== 0) say(`warning: umount ${m}: ${(r.stderr || again.stderr).trim()}`);
    }
  }
  if (mounts.length) say(`unmounted ${mounts.length} pin and cgroup dir(s): ${mounts.join(' ')}`);
  // An agent killed before it could close its admin socket (SIGKILL, or SIGTERM during its start).
  for (const m of mounts) rmSync(adminSocketPath(m), { force: true });
  // The lab's cgroups, by name like the namespaces: whatever still runs in them is killed
  // first. After the unmounts: the state dir's bind mount of it must be gone before the dir is.
  const cgroup = existingLabCgroup(prefix);
  if (cgroup) {
    try {
      removeCgroup(cgroup);
      say(`removed cgroup ${cgroup}`);
    } catch (err) {
      say(`warning: ${(err as Error).message}`);
    }
  }
  let removedDir: string | undefined;
  if (existsSync(stateDir)) {
    if (opts.keepLock) {
      for (const f of readdirSync(stateDir))
        if (f !== 'lock') rmSync(join(stateDir, f), { recursive: true, force: true });
    } else {
      rmSync(stateDir, { recursive: true, force: true });
    }
    removedDir = stateDir;
    say(`removed ${stateDir}`);
  }
  // The root of all labs goes with the last one.
  if (!opts.keepLock) {
    try {
      rmdirSync(dirname(stateDir));
    } catch {
      /* other labs, or gone */
    }
  }
  return { processes: pids.length, namespaces, mounts, stateDir: removedDir };
}

/** Names of every lab with a state dir (for `lab down --all`). The dir is made before any
 *  namespace, so a crashed lab has one; namespaces alone are not enough to claim a lab, as other
 *  tools (tests) build topologies with "sy…" prefixes of their own. */
export function listLabs(root = dirname(stateDirOf('x'))): string[] {
  try {
    return readdirSync(root)
      .filter((d) => /^[a-z][a-z0-9]{0,6}$/.test(d))
      .sort();
  } catch {
    return [];
  }
}
