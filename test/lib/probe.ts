// What both e2e cluster harnesses share: the lab's probe client run in a namespace, a poll loop,
// and stopping a child process (SIGTERM, then SIGKILL after a grace period, so a stuck agent
// never hangs a test's teardown).
import { openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { nsRun, spawnIn } from '../../src/lab/namespaces.js';

const PROBE = new URL('../../dist/lab/probe.js', import.meta.url).pathname;

export interface Probe { ok: number; failed: number; answers: Record<string, number>; errors: Record<string, number>; durationMs: number; connections?: number }

export function runProbe(ns: string, args: string[]): Probe {
  return JSON.parse(nsRun(ns, [process.execPath, PROBE, ...args])) as Probe;
}

/** The probe in the background (its tally is written under `workDir`); resolves when it ends. */
export function probeAsync(ns: string, args: string[], workDir: string): Promise<Probe> {
  const out = join(workDir, `probe-${randomBytes(4).toString('hex')}.json`);
  const child = spawnIn(ns, [process.execPath, PROBE, ...args], { logFd: openSync(out, 'w') });
  return new Promise((resolve, reject) => child.once('exit', () => {
    try { resolve(JSON.parse(readFileSync(out, 'utf8')) as Probe); } catch (err) { reject(err); }
  }));
}

/** Polls until `check` holds (a throw counts as not yet); false when time ran out. */
export async function pollUntil(check: () => boolean, timeoutMs: number, everyMs = 200): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try { if (check()) return true; } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return false;
}

export function stopProcess(child: ChildProcess | undefined, graceMs = 5000): Promise<void> {
  return new Promise((resolve) => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => { clearTimeout(timer); resolve(); });
    child.kill('SIGTERM');
  });
}
