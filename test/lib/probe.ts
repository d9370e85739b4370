// What both e2e cluster harnesses share: the lab's probe client run in a namespace, and stopping
// a child process (SIGTERM, then SIGKILL after a grace period, so a stuck agent never hangs a
// test's teardown).
import { openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { nsRun, spawnIn } from '../../src/lab/namespaces.js';
import type { ProbeResult } from '../../src/lab/probe.js';

const PROBE = new URL('../../dist/lab/probe.js', import.meta.url).pathname;

export function runProbe(ns: string, args: string[]): ProbeResult {
  return JSON.parse(nsRun(ns, [process.execPath, PROBE, ...args])) as ProbeResult;
}

/** The probe in the background (its tally is written under `workDir`); resolves when it ends. */
export function probeAsync(ns: string, args: string[], workDir: string): Promise<ProbeResult> {
  const out = join(workDir, `probe-${randomBytes(4).toString('hex')}.json`);
  const child = spawnIn(ns, [process.execPath, PROBE, ...args], { logFd: openSync(out, 'w') });
  return new Promise((resolve, reject) =>
    child.once('exit', () => {
      try {
        resolve(JSON.parse(readFileSync(out, 'utf8')) as ProbeResult);
      } catch (err) {
        reject(err);
      }
    }),
  );
}

export function stopProcess(child: ChildProcess | undefined, graceMs = 5000): Promise<void> {
  return new Promise((resolve) => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
