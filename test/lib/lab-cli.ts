// Driving a lab as a person does, for e2e tests: `switchyard lab SUB --name NAME ...` and friends
// through the built CLI, with stderr in the error when a command fails.
import { execFileSync, spawnSync } from 'node:child_process';
import type { LabStatus } from '../../src/lab/lab-status.js';

const ROOT = new URL('../..', import.meta.url).pathname;
export const CLI = `${ROOT}dist/cli/main.js`;

export function labName(letter: string): string {
  return `${letter}${Math.random().toString(36).slice(2, 6).replace(/^\d/, 'x')}`;
}

/** `switchyard ARGS...`: stdout, or a thrown error with stdout and stderr. */
export function switchyard(...args: string[]): string {
  try {
    return execFileSync(process.execPath, [CLI, ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 90_000,
    });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`switchyard ${args.join(' ')}: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

/** `switchyard ARGS...` whatever its exit status: status, stdout and stderr. */
export function switchyardRaw(...args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 90_000 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export function labCli(name: string) {
  const lab = (sub: string, ...args: string[]) => switchyard('lab', sub, '--name', name, ...args);
  return {
    lab,
    status: () => JSON.parse(lab('status', '-o', 'json')) as LabStatus,
    exec: (target: string, ...argv: string[]) => lab('exec', target, '--', ...argv),
  };
}
