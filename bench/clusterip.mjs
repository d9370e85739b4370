#!/usr/bin/env node
// ClusterIP data path: new TCP connections per second (each with one short HTTP/1.0 request)
// and per-connection latency p50/p99, through
//   (1) the backend pod IPs directly,
//   (2) a Switchyard ClusterIP (the real agent fed from a manifest directory),
//   (3) a kube-proxy-shaped iptables nat table (KUBE-SERVICES → KUBE-SVC-… with `statistic
//       random` → KUBE-SEP-… DNAT), with iptables-nft and with iptables-legacy,
//   (4) a kube-proxy-shaped nftables table (a `service-ips` verdict map, then `numgen random
//       mod N vmap` to endpoint chains, as kube-proxy's nftables mode writes it),
// each with 10 and 5,000 Services installed (the measured Service is the last one written, so
// the iptables KUBE-SERVICES chain is walked to its end).
//
//   make all && sudo node bench/clusterip.mjs [--services 10,5000] [--rounds 9] [--seconds 0.5] [--concurrency 8]
//                                             [--only direct,switchyard,iptables-nft,iptables-legacy,nftables]
//                                             (--only socketlb: the pod socket-LB cases, clusterip-socklb.mjs; always run without --only)
//
// Needs root, clang (to build the load client/server below), iptables and nftables. Every case
// has its own namespaces (a node, three backend pods, one client pod; no route out of them), so
// the Switchyard programs exist only on the Switchyard nodes' veths and the rules only in their
// own node namespaces: no case sees another's hooks. Nothing is attached or added in the root
// namespace. Everything is removed on exit, Ctrl-C included. About 2 minutes with the defaults.
//
// Load: bench/loadgen.c (epoll; built into a temp dir) — `load` keeps K connections in flight,
// each connect → GET → read to EOF → close, and times every connection from socket() to EOF;
// `serve` is a single-threaded accept loop answering a fixed 200 and closing. All cases are
// built first, then visited in --rounds interleaved rounds (rate at --concurrency, then latency
// with one connection at a time, --seconds each); the table gives the medians over the rounds.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createNode,
  createPod,
  deleteNamespace,
  listNamespaces,
  mountBpffs,
  nsRun,
  run,
  spawnIn,
  unmountBpffs,
} from '../dist/lab/namespaces.js';
import { hash16, iptablesRules, POD_CIDR } from './kube-proxy-iptables.mjs';
import { socketLbCases, socketLbSummary } from './clusterip-socklb.mjs';

const ROOT = new URL('..', import.meta.url).pathname;
const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
};
const SERVICE_COUNTS = opt('services', '10,5000').split(',').map(Number);
const SECONDS = Number(opt('seconds', '0.5'));
const CONCURRENCY = Number(opt('concurrency', '8'));
const ROUNDS = Number(opt('rounds', '9'));
const KINDS = opt('only', 'direct,switchyard,iptables-nft,iptables-legacy,nftables').split(',');

const ID = `syb${(process.pid % 10000).toString(36)}${Math.random().toString(36).slice(2, 4)}`; // ≤ 9 chars
const WORK = mkdtempSync(join(tmpdir(), `${ID}-`));
const VIP = '10.96.0.10';
const BACKEND_NAMES = ['be1', 'be2', 'be3'];

// ---------------------------------------------------------------------------------------------
// The load client and server: bench/loadgen.c, built into the temp dir.

function buildLoadgen() {
  const bin = join(WORK, 'loadgen');
  run(process.env.CC ?? 'clang', ['-O2', '-Wall', '-o', bin, join(ROOT, 'bench/loadgen.c')]);
  return bin;
}

// ---------------------------------------------------------------------------------------------
// A case's namespaces: node, three backend pods, one client pod.
class Topo {
  constructor(tag) {
    this.prefix = `${ID}${tag}`; // ≤ 11 chars, so host veths `${prefix}h${n}` fit in 15
    this.nodeNs = `${this.prefix}-node`;
    this.pods = [];
    this.procs = [];
    createNode(this.nodeNs, '10.250.0.1');
  }
  addPod(name) {
    const n = this.pods.length + 1;
    const pod = { name, ns: `${this.prefix}-${name}`, ip: `10.244.0.${10 + n}`, hostIf: `${this.prefix}h${n}` };
    createPod(this.nodeNs, pod.ns, pod.hostIf, pod.ip);
    this.pods.push(pod);
    return pod;
  }
  namespaces() {
    return [...this.pods.map((p) => p.ns), this.nodeNs];
  }
  destroy() {
    for (const p of this.procs) {
      try {
        p.kill('SIGKILL');
      } catch {
        /* gone */
      }
    }
    for (const ns of this.namespaces()) {
      try {
        deleteNamespace(ns);
      } catch (err) {
        console.error(`cleanup: ${err.message}`);
      }
    }
  }
}

/** Sets up node + pods, starts the servers, checks each backend answers directly. */
function baseTopo(tag, loadgen) {
  const t = new Topo(tag);
  try {
    t.backends = BACKEND_NAMES.map((n) => t.addPod(n));
    t.client = t.addPod('client');
    nsRun(t.client.ns, ['sysctl', '-qw', 'net.ipv4.ip_local_port_range=1024 65535']);
    for (const b of t.backends) t.procs.push(spawnIn(b.ns, [loadgen, 'serve', '80']));
    return t;
  } catch (err) {
    t.destroy();
    throw err;
  }
}

function loadRun(t, loadgen, seconds, k, targets) {
  const out = (t.runClient ?? nsRun)(t.client.ns, [loadgen, 'load', String(seconds), String(k), ...targets]);
  return JSON.parse(out);
}

async function waitAnswer(t, loadgen, targets, what, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = loadRun(t, loadgen, 0.2, 1, targets);
    if (last.ok > 0 && last.failed === 0) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what}: no clean answer within ${timeoutMs} ms (last: ${JSON.stringify(last)})`);
}

// ---------------------------------------------------------------------------------------------
// What every case installs: `count` Services, the measured one (VIP:80 → the three backends)
// written last; the others get made-up ClusterIPs and endpoints that are never contacted.
function fillerService(i) {
  const tail = `${(i >> 8) & 255}.${i & 255}`;
  return { vip: `10.97.${tail}`, name: `svc${i}`, endpoints: [245, 246, 247].map((b) => `10.${b}.${tail}:80`) };
}
function servicesFor(count, backends) {
  const list = [];
  for (let i = 0; i < count - 1; i++) list.push(fillerService(i));
  list.push({ vip: VIP, name: 'target', endpoints: backends.map((b) => `${b.ip}:80`) });
  return list;
}
/** kube-proxy's nftables mode (1.31+), ClusterIP only: one `ip kube-proxy` table. */
function nftRules(services) {
  const L = [
    'table ip kube-proxy {',
    '  comment "rules for kube-proxy"',
    '  map no-endpoint-services { type ipv4_addr . inet_proto . inet_service : verdict; }',
    '  map service-ips { type ipv4_addr . inet_proto . inet_service : verdict; comment "ClusterIP, ExternalIP and LoadBalancer IP traffic"; }',
    '  chain mark-for-masquerade { mark set mark or 0x4000; }',
    '  chain masquerading { type nat hook postrouting priority 100; policy accept;',
    '    mark and 0x4000 == 0 return; mark set mark xor 0x4000; masquerade fully-random; }',
    '  chain services { ip daddr . meta l4proto . th dport vmap @service-ips; }',
    '  chain nat-prerouting { type nat hook prerouting priority -100; policy accept; jump services; }',
    '  chain nat-output { type nat hook output priority -100; policy accept; jump services; }',
    '  chain service-endpoints-check { ip daddr . meta l4proto . th dport vmap @no-endpoint-services; }',
    '  chain filter-forward { type filter hook forward priority 0; policy accept;',
    '    ct state new jump service-endpoints-check; ct state invalid drop; }',
  ];
  const elements = [];
  for (const s of services) {
    const svc = `service-${hash16(`${s.name}tcp`).slice(0, 8)}-default/${s.name}/tcp/http`;
    const eps = s.endpoints.map((ep) => ({
      ep,
      chain: `endpoint-${hash16(`${s.name}${ep}`).slice(0, 8)}-default/${s.name}/tcp/http__${ep.replace(':', '/')}`,
    }));
    L.push(
      `  chain ${svc} {`,
      `    ip daddr ${s.vip} tcp dport 80 ip saddr != ${POD_CIDR} jump mark-for-masquerade;`,
      `    numgen random mod ${eps.length} vmap { ${eps.map((e, k) => `${k} : goto ${e.chain}`).join(', ')} };`,
      '  }',
    );
    for (const { ep, chain } of eps) {
      L.push(
        `  chain ${chain} { ip saddr ${ep.split(':')[0]} jump mark-for-masquerade; meta l4proto tcp dnat to ${ep}; }`,
      );
    }
    elements.push(`${s.vip} . tcp . 80 : goto ${svc}`);
  }
  L.push('}');
  // The map's elements in one statement of their own, as kube-proxy adds them.
  for (let i = 0; i < elements.length; i += 1000) {
    L.push(`add element ip kube-proxy service-ips { ${elements.slice(i, i + 1000).join(', ')} }`);
  }
  return `${L.join('\n')}\n`;
}

/** Services and EndpointSlices for the agent's manifest directory, as one JSON List. */
function manifestFor(services) {
  const items = [];
  for (const s of services) {
    items.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: s.name, namespace: 'default' },
      spec: { clusterIP: s.vip, ports: [{ name: 'http', port: 80, targetPort: 80, protocol: 'TCP' }] },
    });
    items.push({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: `${s.name}-abc`, namespace: 'default', labels: { 'kubernetes.io/service-name': s.name } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
      endpoints: s.endpoints.map((ep) => ({
        addresses: [ep.split(':')[0]],
        conditions: { ready: true },
        nodeName: 'node1',
      })),
    });
  }
  return JSON.stringify({ apiVersion: 'v1', kind: 'List', items });
}

// ---------------------------------------------------------------------------------------------
// The cases: each builds its namespaces, programs its Services, and checks the VIP answers.
const live = new Set(); // topologies to tear down on any exit

/** Busy share of all CPUs over `ms`, from /proc/stat (user+nice+system+irq+softirq+steal). */
async function cpuBusy(ms) {
  const sample = () => readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const a = sample();
  await new Promise((r) => setTimeout(r, ms));
  const b = sample();
  const d = b.map((v, i) => v - a[i]);
  const total = d.reduce((x, y) => x + y, 0);
  return total ? 1 - (d[3] + d[4]) / total : 0; // idle + iowait
}

/** The kernel tears namespaces down in a worker after `ip netns del` returns (rules, conntrack,
 *  sockets): wait until the machine is quiet, so one case's teardown is not the next one's load. */
async function settle() {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline && (await cpuBusy(300)) > 0.05) {
    /* still busy */
  }
}

/** Builds a case's namespaces and servers and runs `setup` on them; tears down if that fails. */
async function prepare(label, services, tag, loadgen, targetsOf, setup) {
  const t = baseTopo(tag, loadgen);
  live.add(t);
  try {
    const targets = targetsOf(t);
    const setupMs = await setup(t);
    await waitAnswer(t, loadgen, targets, `${label} (${services} services)`);
    console.log(
      `  ready: ${label}${services === '-' ? '' : `, ${services} services`}${setupMs === undefined ? '' : `, programmed in ${Math.round(setupMs)} ms`}`,
    );
    return { label, services, setupMs, t, targets, rates: [], p50s: [], p99s: [], failed: 0, firstError: '' };
  } catch (err) {
    t.destroy();
    live.delete(t);
    throw err;
  }
}

const vipTargets = () => [`${VIP}:80`];

function caseDirect(loadgen) {
  return prepare(
    'direct pod IP',
    '-',
    'd',
    loadgen,
    (t) => t.backends.map((b) => `${b.ip}:80`),
    async () => undefined,
  );
}

function caseSwitchyard(loadgen, count, tag) {
  return prepare('Switchyard ClusterIP', count, tag, loadgen, vipTargets, async (t) => {
    const pinDir = `/run/${t.prefix}-bpf`;
    const dir = join(WORK, `${t.prefix}-manifests`);
    run('mkdir', ['-p', dir]);
    mountBpffs(pinDir);
    // Teardown order: stop the agent, delete the namespaces (veths and programs go with them), unmount the pins.
    const destroy = t.destroy.bind(t);
    const logFile = join(WORK, `${t.prefix}-agent.log`);
    let agent;
    t.destroy = () => {
      if (agent && agent.exitCode === null) agent.kill('SIGTERM');
      destroy();
      unmountBpffs(pinDir);
    };
    writeFileSync(join(dir, 'services.json'), manifestFor(servicesFor(count, t.backends)));
    agent = spawnIn(
      t.nodeNs,
      [
        process.execPath,
        join(ROOT, 'dist/cli/main.js'),
        'agent',
        '--manifests',
        dir,
        '--pod-devices',
        `${t.prefix}h*`,
        '--pin-dir',
        pinDir,
        '--hostname-override',
        'node1',
      ],
      { logFd: openSync(logFile, 'a') },
    );
    t.procs.push(agent);
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (Date.now() > deadline || agent.exitCode !== null)
        throw new Error(`agent did not sync ${count} services; log:\n${readFileSync(logFile, 'utf8').slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 100));
      const sync = readFileSync(logFile, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => {
          try {
            return JSON.parse(l);
          } catch {
            return {};
          }
        })
        .find((l) => l.msg === 'sync applied' && l.servicePorts >= count);
      if (sync) return sync.durationMs;
    }
  });
}

function timed(fn) {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

function caseIptables(loadgen, count, tag, binary, label) {
  return prepare(label, count, tag, loadgen, vipTargets, async (t) => {
    const rules = iptablesRules(servicesFor(count, t.backends));
    const ms = timed(() => run('ip', ['netns', 'exec', t.nodeNs, `${binary}-restore`, '--noflush'], rules));
    const listed = spawnSync('ip', ['netns', 'exec', t.nodeNs, binary, '-t', 'nat', '-S', 'KUBE-SERVICES'], {
      encoding: 'utf8',
      maxBuffer: 1 << 28,
    });
    const walked = listed.stdout.split('\n').filter((l) => l.startsWith('-A KUBE-SERVICES')).length;
    if (walked !== count + 1) throw new Error(`${binary}: KUBE-SERVICES has ${walked} rules, expected ${count + 1}`);
    return ms;
  });
}

function caseNft(loadgen, count, tag) {
  return prepare('nftables (kube-proxy)', count, tag, loadgen, vipTargets, async (t) => {
    const file = join(WORK, `${t.prefix}.nft`);
    writeFileSync(file, nftRules(servicesFor(count, t.backends)));
    return timed(() => nsRun(t.nodeNs, ['nft', '-f', file]));
  });
}

// ---------------------------------------------------------------------------------------------
function cleanupAll() {
  for (const t of [...live]) {
    try {
      t.destroy();
    } catch {
      /* best effort */
    }
    live.delete(t);
  }
  // Anything of ours a crash left behind (namespaces and pins are named after this run only).
  for (const ns of listNamespaces().filter((n) => n.startsWith(ID))) {
    try {
      deleteNamespace(ns);
    } catch {
      /* best effort */
    }
  }
  for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) {
    const dir = line.split(' ')[1];
    if (dir?.startsWith(`/run/${ID}`)) unmountBpffs(dir);
  }
  rmSync(WORK, { recursive: true, force: true });
}

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    console.error(`\n${sig}: cleaning up`);
    cleanupAll();
    process.exit(130);
  });
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[(s.length - 1) >> 1] : 0;
};

async function main() {
  if (process.getuid?.() !== 0) throw new Error('bench/clusterip: needs root (namespaces, BPF, netfilter)');
  const needs = {
    clang: true,
    'iptables-nft-restore': KINDS.includes('iptables-nft'),
    'iptables-legacy-restore': KINDS.includes('iptables-legacy'),
    nft: KINDS.includes('nftables'),
  };
  for (const [bin, needed] of Object.entries(needs)) {
    if (needed && spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0) {
      throw new Error(`bench/clusterip: ${bin} not found (make deps installs iptables, nftables and clang)`);
    }
  }
  const loadgen = buildLoadgen();
  console.log(
    `ClusterIP bench: kernel ${run('uname', ['-r']).trim()}, ${run('nproc', []).trim()} CPUs, Node ${process.version}; ` +
      `${ROUNDS} interleaved rounds; each: rate over ${SECONDS}s at ${CONCURRENCY} connections in flight, latency over ${SECONDS}s sequential`,
  );

  // Every case is built first and stays up; the rounds then visit them in turn (the order rotates),
  // so slow drift of the machine spreads over all cases instead of landing on one.
  const cases = [];
  if (KINDS.includes('direct')) cases.push(await caseDirect(loadgen));
  for (const [i, count] of SERVICE_COUNTS.entries()) {
    if (KINDS.includes('switchyard')) cases.push(await caseSwitchyard(loadgen, count, `s${i}`));
    if (KINDS.includes('socketlb') || !argv.includes('--only'))
      cases.push(
        ...(await socketLbCases(
          { prepare, servicesFor, manifestFor, work: WORK, vipTargets },
          loadgen,
          count,
          `k${i}`,
        )),
      );
    if (KINDS.includes('iptables-nft'))
      cases.push(await caseIptables(loadgen, count, `i${i}`, 'iptables-nft', 'iptables (nft backend)'));
    if (KINDS.includes('iptables-legacy'))
      cases.push(await caseIptables(loadgen, count, `l${i}`, 'iptables-legacy', 'iptables-legacy'));
    if (KINDS.includes('nftables')) cases.push(await caseNft(loadgen, count, `n${i}`));
  }
  await settle();
  for (const c of cases) loadRun(c.t, loadgen, 0.3, CONCURRENCY, c.targets); // warm-up
  for (let round = 0; round < ROUNDS; round++) {
    for (let j = 0; j < cases.length; j++) {
      const c = cases[(j + round) % cases.length];
      const rate = loadRun(c.t, loadgen, SECONDS, CONCURRENCY, c.targets);
      const lat = loadRun(c.t, loadgen, SECONDS, 1, c.targets);
      c.rates.push(rate.rate);
      c.p50s.push(lat.p50);
      c.p99s.push(lat.p99);
      c.failed += rate.failed + lat.failed;
      c.firstError ||= rate.firstError || lat.firstError;
    }
    process.stdout.write(`  round ${round + 1}/${ROUNDS} done\n`);
  }

  const rows = cases.map((c) => ({
    ...c,
    rate: median(c.rates),
    p50: median(c.p50s),
    p99: median(c.p99s),
    spread: Math.max(...c.rates) / Math.min(...c.rates) - 1,
  }));
  const base = rows.find((r) => r.label === 'direct pod IP');
  const ratio = (v, b) => (b ? `${(v / b).toFixed(2)}×` : '-');
  console.log(
    '\n| path | services | program (ms) | conn/s | ±spread | vs direct | p50 µs | vs direct | p99 µs | vs direct | failed |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(
      `| ${r.label} | ${r.services} | ${r.setupMs === undefined ? '-' : Math.round(r.setupMs).toLocaleString('en-US')} | ` +
        `${Math.round(r.rate).toLocaleString('en-US')} | ${Math.round(r.spread * 100)}% | ${ratio(r.rate, base?.rate)} | ` +
        `${r.p50.toFixed(0)} | ${ratio(r.p50, base?.p50)} | ${r.p99.toFixed(0)} | ${ratio(r.p99, base?.p99)} | ${r.failed}${r.failed ? ` (${r.firstError})` : ''} |`,
    );
  }
  console.log(socketLbSummary(rows));
  console.log(
    `\nconn/s, p50, p99: medians over the ${ROUNDS} rounds; ±spread: (max - min) / min of the rounds' rates.` +
      '\nprogram: Switchyard = the agent\'s first map sync ("sync applied" durationMs); iptables = iptables-restore; nftables = nft -f.',
  );
}

try {
  await main();
} finally {
  cleanupAll();
}
