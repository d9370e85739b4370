// `lab demo`'s DNS round: names resolved from a pod through the cluster DNS (kube-dns at
// 10.96.0.10, itself a Service served by Switchyard) — a ClusterIP Service's name, a headless
// Service's name (its ready pods) and an ExternalName (a CNAME) — each checked against the API.
import { spawnSync } from 'node:child_process';
import type { LabStatus, PodStatus } from './lab-status.js';

/** `dig +search +short` inside a namespace: the lines of the answer, or why there is none. */
export function digIn(
  ns: string,
  name: string,
  opts: { type?: string; tcp?: boolean } = {},
): { lines: string[]; error?: string } {
  const args = [
    'netns',
    'exec',
    ns,
    'dig',
    '+search',
    '+short',
    '+time=1',
    '+tries=2',
    ...(opts.tcp ? ['+tcp'] : []),
    name,
    opts.type ?? 'A',
  ];
  const r = spawnSync('ip', args, { encoding: 'utf8', timeout: 8000 });
  if (r.error)
    return {
      lines: [],
      error:
        (r.error as NodeJS.ErrnoException).code === 'ENOENT'
          ? 'dig is not installed (apt-get install dnsutils)'
          : r.error.message,
    };
  if (r.status !== 0)
    return { lines: [], error: (r.stderr || r.stdout).trim().split('\n')[0] || `dig exited ${r.status}` };
  const lines = r.stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith(';'));
  return { lines };
}

/** The round: returns the number of names that did not resolve as the API says they should. */
export function dnsRound(say: (line: string) => void, status: LabStatus, client: PodStatus): number {
  const dns = status.services.find((s) => s.name === 'kube-dns');
  if (!dns) {
    say('      no kube-dns Service in the lab (apply src/lab/examples/kube-dns.yaml)');
    return 0;
  }
  say(
    `      resolver of every pod: ${dns.clusterIP} (kube-dns, ${dns.endpoints.length} ready endpoints), search ` +
      `default.svc.cluster.local svc.cluster.local cluster.local`,
  );
  let failures = 0;
  const check = (name: string, want: string[], what: string) => {
    const got = digIn(client.netns, name);
    const ok = !got.error && [...got.lines].sort().join(' ') === [...want].sort().join(' ');
    if (!ok) failures++;
    say(
      `      ${name.padEnd(20)} → ${got.error ?? (got.lines.join(', ') || 'no answer')}   ` +
        `${ok ? '✓' : `✗ expected ${want.join(', ')}`} ${what}`,
    );
  };
  const nginx = status.services.find((s) => s.name === 'my-nginx');
  if (nginx?.clusterIP) check('my-nginx', [nginx.clusterIP], '(its cluster IP)');
  const headless = status.services.find((s) => s.name === 'myapp-svc-headless');
  if (headless) {
    const ready = headless.endpoints.map((e) => e.split(':')[0]); // the ready ones, "ip:port"
    check('myapp-svc-headless', ready, `(its ${ready.length} ready pods, no virtual IP)`);
  }
  const alias = status.services.find((s) => s.type === 'ExternalName');
  if (alias?.externalName) {
    const target = status.services.find((s) => `${s.name}.${s.namespace}.svc.cluster.local` === alias.externalName);
    check(
      alias.name,
      [`${alias.externalName}.`, ...(target?.clusterIP ? [target.clusterIP] : [])],
      '(a CNAME, chased inside the cluster)',
    );
  }
  return failures;
}
