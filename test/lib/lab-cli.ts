// Driving a lab as a person does, for e2e tests: `switchyard lab SUB --name NAME ...` and friends
// through the built CLI, with stderr in the error when a command fails.
//
// A lab e2e file needs only this:
//
//   describeRoot('lab: …', () => {
//     const lab = withLab({ letter: 'q', up: ['--ip-family', 'dual'] }); // beforeAll up, afterAll down
//     it('…', () => {
//       const pods = lab.podsOf('myapp-deploy');                        // from lab.first, the status after up
//       const r = lab.probe('client', 'http', 'http://10.99.99.99/hostname.html', '--count', '20');
//       lab.exec('node1', 'ss', '-tln');
//       lab.lab('scale', 'myapp-deploy', '--replicas', '2');
//     });
//   });
//
// `labCli(name)` is the same handle without the hooks, for a file that brings the lab up itself.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { afterAll, beforeAll } from 'vitest';
import type { LabStatus, PodStatus } from '../../src/lab/lab-status.js';
import type { ProbeResult } from '../../src/lab/probe.js';

const ROOT = new URL('../..', import.meta.url).pathname;
export const CLI = `${ROOT}dist/cli/main.js`;
/** A lab command may wait for pods, agents and the API server: up takes tens of seconds on a busy machine. */
const LAB_TIMEOUT_MS = 120_000;

/** A lab name unique to the run: the letter says which file, 4 random characters the run. */
export function labName(letter: string): string {
  return `${letter}${Math.random().toString(36).slice(2, 6).replace(/^\d/, 'x')}`;
}

/** `switchyard ARGS...`: stdout, or a thrown error with stdout and stderr. */
export function switchyard(...args: string[]): string {
  return run(90_000, args);
}

function run(timeout: number, args: string[]): string {
  try {
    return execFileSync(process.execPath, [CLI, ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout,
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

export interface LabCli {
  readonly name: string;
  /** `switchyard lab SUB --name NAME ARGS...`: stdout, or a thrown error with stdout and stderr. */
  lab(sub: string, ...args: string[]): string;
  /** `lab status -o json`, typed. */
  status(): LabStatus;
  /** `lab exec TARGET -- ARGV...`: a pod, a Deployment's first pod, node1/node2, "external" or "underlay". */
  exec(target: string, ...argv: string[]): string;
  /** `lab exec TARGET -- probe ARGS...`, the lab's probe client, its JSON result. */
  probe(target: string, ...args: string[]): ProbeResult;
  /** The same, running while the test does something else (a request loop through a change). */
  probeAsync(target: string, ...args: string[]): Promise<ProbeResult>;
  /** The status read right after `up` by withLab; an error before. */
  readonly first: LabStatus;
  /** The pods of a deployment in `st` (default: `first`). */
  podsOf(deployment: string, st?: LabStatus): PodStatus[];
  /** `lab down` now; withLab's afterAll then leaves the lab alone. */
  down(): string;
}

/** The handle and what withLab's hooks do with it. */
interface LabControl {
  cli: LabCli;
  /** `lab up ARGS`, then `first`. */
  up(args: string[]): void;
  /** `lab down`, unless a test took the lab down already. */
  downIfUp(): void;
}

function labControl(name: string): LabControl {
  let first: LabStatus | undefined;
  let isDown = true;
  const lab = (sub: string, ...args: string[]) => run(LAB_TIMEOUT_MS, ['lab', sub, '--name', name, ...args]);
  const exec = (target: string, ...argv: string[]) => lab('exec', target, '--', ...argv);
  const status = () => JSON.parse(lab('status', '-o', 'json')) as LabStatus;
  const cli: LabCli = {
    name,
    lab,
    status,
    exec,
    probe: (target, ...args) => JSON.parse(exec(target, 'probe', ...args)) as ProbeResult,
    probeAsync: (target, ...args) => probeAsync(name, target, args),
    get first() {
      if (!first) throw new Error(`lab ${name}: no status yet (withLab's beforeAll has not brought it up)`);
      return first;
    },
    podsOf: (deployment, st) => (st ?? cli.first).pods.filter((p) => p.deployment === deployment),
    down() {
      const out = lab('down');
      isDown = true;
      return out;
    },
  };
  return {
    cli,
    up(args) {
      isDown = false; // a half-made lab is taken down too
      lab('up', ...args);
      first = status();
    },
    downIfUp() {
      if (!isDown) cli.down();
    },
  };
}

/** The handle alone, no hooks: for a file that runs `lab up` itself. */
export const labCli = (name: string): LabCli => labControl(name).cli;

function probeAsync(name: string, target: string, args: string[]): Promise<ProbeResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'lab', 'exec', '--name', name, target, '--', 'probe', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    child.on('exit', () => {
      try {
        resolve(JSON.parse(out) as ProbeResult);
      } catch {
        reject(new Error(`probe: ${err || out}`));
      }
    });
  });
}

export interface WithLabOptions {
  /** The first letter of the lab's name, to tell the files' labs apart (default 'l'). */
  letter?: string;
  /** Extra `lab up` arguments (`--ip-family ipv6`). */
  up?: string[];
  /** After the lab is up and `first` is read (inside beforeAll). */
  afterUp?: (lab: LabCli) => void;
  /** After `lab down` (inside afterAll), for checks that the lab left nothing behind. */
  afterDown?: (lab: LabCli) => void;
}

/** A lab for the enclosing describe: `lab up` in beforeAll, `lab down` in afterAll unless a test
 *  took it down already (lab.down()). Call it at the top of the describe callback. */
export function withLab(options: WithLabOptions = {}): LabCli {
  const control = labControl(labName(options.letter ?? 'l'));
  beforeAll(() => {
    control.up(options.up ?? []);
    options.afterUp?.(control.cli);
  }, LAB_TIMEOUT_MS + 60_000);
  afterAll(() => {
    control.downIfUp();
    options.afterDown?.(control.cli);
  }, LAB_TIMEOUT_MS);
  return control.cli;
}
