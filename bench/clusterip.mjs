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
// the iptables KUBE-SERVICES chain is walked to its end), for IPv4 and IPv6 in the same run: the
// namespaces are dual-stack (the lab's ULA addresses, src/lab/dualstack.ts), the agent's
// Services RequireDualStack (programmed IPv4 first, then IPv6 added: each family's own sync
// time), and the rules a second time with ip6tables and an `ip6` nftables table.
//
//   make all && sudo node bench/clusterip.mjs [--services 10,5000] [--rounds 9] [--seconds 0.5] [--concurrency 8]
//                                             [--only direct,switchyard,iptables-nft,iptables-legacy,nftables]
//                                             [--families ipv4,ipv6]
//                                             (--only socketlb: the pod socket-LB cases, clusterip-socklb.mjs; always run without --only)
//
// Needs root, clang (to build the load client/server below), iptables and nftables. Every case
// has its own namespaces (bench/clusterip-topo.mjs: a node, three backend pods, one client pod; no
// route out of them), so
// the Switchyard programs exist only on the Switchyard nodes' veths and the rules
// (bench/clusterip-services.mjs, bench/kube-proxy-iptables.mjs) only in their own node namespaces: no case sees another's hooks. Nothing is attached or added in the root
// namespace. Everything is removed on exit, Ctrl-C included. About 2 minutes with the defaults.
//
// Load: bench/loadgen.c (epoll; built into a temp dir) — `load` keeps K connections in flight,
// each connect → GET → read to EOF → close, and times every connection from socket() to EOF;
// `serve` is a single-threaded accept loop answering a fixed 200 and closing. All cases are
// built first, then visited in --rounds interleaved rounds (rate at --concurrency, then latency
// with one connection at a time, --seconds each); the table gives the medians over the rounds.
import { spawnSync } from 'node:child_process';
import { openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { adminSocketPath } from '../dist/inspect/admin.js';
import { mountBpffs, nsRun, run, spawnIn, unmountBpffs } from '../dist/lab/namespaces.js';
import { manifestFor, nftRules, servicesFor, VIP, VIP6 } from './clusterip-services.mjs';
import {
  baseTopo,
  CLUSTER_CIDRS,
  buildLoadgen,
  cleanupAll,
  live,
  loadRun,
  logLines,
  ROOT,
  settle,
  waitAnswer,
  WORK,
} from './clusterip-topo.mjs';
import { socketLbCases, socketLbSummary } from './clusterip-socklb.mjs';
import { iptablesRules } from './kube-proxy-iptables.mjs';
import { opt } from './args.mjs';

const argv = process.argv.slice(2);
const SERVICE_COUNTS = opt('services', '10,5000').split(',').map(Number);
const SECONDS = Number(opt('seconds', '0.5'));
const CONCURRENCY = Number(opt('concurrency', '8'));
const ROUNDS = Number(opt('rounds', '9'));
const KINDS = opt('only', 'direct,switchyard,iptables-nft,iptables-legacy,nftables').split(',');
const FAMILIES = opt('families', 'ipv4,ipv6').split(',');
const IPV6 = FAMILIES.includes('ipv6');

for (const f of FAMILIES) {
  if (f !== 'ipv4' && f !== 'ipv6') throw new Error(`bench/clusterip: --families: unknown family ${f} (ipv4, ipv6)`);
}

// ---------------------------------------------------------------------------------------------
// The cases: each builds its namespaces, programs its Services, and checks the VIP answers. A
// case measures one path per family: targets and program time are `{ ipv4, ipv6 }` (a plain
// list or number is IPv4's).
const perFamily = (v) => (Array.isArray(v) || typeof v !== 'object' || v === null ? { ipv4: v } : v);

/** Builds a case's namespaces and servers and runs `setup` on them; tears down if that fails. */
async function prepare(label, services, tag, loadgen, targetsOf, setup) {
  const t = baseTopo(tag, loadgen, IPV6);
  live.add(t);
  try {
    const targets = perFamily(targetsOf(t));
    const setupMs = perFamily(await setup(t));
    const paths = FAMILIES.filter((f) => targets[f]).map((family) => ({
      family,
      targets: targets[family],
      setupMs: setupMs[family],
      rates: [],
      p50s: [],
      p99s: [],
      failed: 0,
      firstError: '',
    }));
    for (const p of paths) await waitAnswer(t, loadgen, p.targets, `${label} ${p.family} (${services} services)`);
    const ms = paths.filter((p) => p.setupMs !== undefined).map((p) => `${p.family} ${Math.round(p.setupMs)}`);
    console.log(
      `  ready: ${label}${services === '-' ? '' : `, ${services} services`}${ms.length ? `, programmed in ${ms.join(' + ')} ms` : ''}`,
    );
    return { label, services, t, paths };
  } catch (err) {
    t.destroy();
    live.delete(t);
    throw err;
  }
}

const vipTargets = () => ({ ipv4: [`${VIP}:80`], ipv6: [`[${VIP6}]:80`] });

function caseDirect(loadgen) {
  return prepare(
    'direct pod IP',
    '-',
    'd',
    loadgen,
    (t) => ({ ipv4: t.backends.map((b) => `${b.ip}:80`), ipv6: t.backends.map((b) => `[${b.ip6}]:80`) }),
    async () => undefined,
  );
}

/** The first "sync applied" line of the agent's log that `pick` accepts. Up to 5 minutes: the
 *  manifest source reads JSON with its YAML parser, and 5,000 dual-stack Services (6 MB) took it
 *  48 s on the busy 2-core machine, before the sync itself. */
async function syncLine(agent, logFile, what, pick) {
  const deadline = Date.now() + 300_000;
  for (;;) {
    if (Date.now() > deadline || agent.exitCode !== null)
      throw new Error(`agent did not sync ${what}; log:\n${readFileSync(logFile, 'utf8').slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 100));
    const sync = logLines(logFile).find((l) => l.msg === 'sync applied' && pick(l));
    if (sync) return sync;
  }
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
      destroy(); // SIGKILLs the agent before it can remove its admin socket: done here
      rmSync(adminSocketPath(pinDir), { force: true });
      unmountBpffs(pinDir);
    };
    const v4 = servicesFor(count, t.backends);
    writeFileSync(join(dir, 'services.json'), manifestFor(v4));
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
        '--cluster-cidr',
        CLUSTER_CIDRS,
      ],
      { logFd: openSync(logFile, 'a') },
    );
    t.procs.push(agent);
    const first = await syncLine(agent, logFile, `${count} services`, (l) => l.servicePorts >= count);
    if (!IPV6) return first.durationMs;
    // The same Services become RequireDualStack: this sync writes only their IPv6 frontends and
    // backends, so its time is IPv6's. Renamed into place: the agent never reads half a file.
    writeFileSync(join(dir, 'services.tmp'), manifestFor(v4, servicesFor(count, t.backends, 'ipv6')));
    renameSync(join(dir, 'services.tmp'), join(dir, 'services.json'));
    const second = await syncLine(
      agent,
      logFile,
      `${count} dual-stack services`,
      (l) => l.frontends >= 2 * first.frontends,
    );
    return { ipv4: first.durationMs, ipv6: second.durationMs };
  });
}

function timed(fn) {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** kube-proxy's iptables rules for one family, restored with `binary` (ip6tables-… for IPv6). */
function restoreRules(t, binary, count, family) {
  const rules = iptablesRules(servicesFor(count, t.backends, family), family);
  const ms = timed(() => run('ip', ['netns', 'exec', t.nodeNs, `${binary}-restore`, '--noflush'], rules));
  const listed = spawnSync('ip', ['netns', 'exec', t.nodeNs, binary, '-t', 'nat', '-S', 'KUBE-SERVICES'], {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  const walked = listed.stdout.split('\n').filter((l) => l.startsWith('-A KUBE-SERVICES')).length;
  if (walked !== count + 1) throw new Error(`${binary}: KUBE-SERVICES has ${walked} rules, expected ${count + 1}`);
  return ms;
}

const ip6tables = (binary) => binary.replace('iptables', 'ip6tables');

function caseIptables(loadgen, count, tag, binary, label) {
  return prepare(label, count, tag, loadgen, vipTargets, async (t) => ({
    ipv4: restoreRules(t, binary, count, 'ipv4'),
    ipv6: IPV6 ? restoreRules(t, ip6tables(binary), count, 'ipv6') : undefined,
  }));
}

function caseNft(loadgen, count, tag) {
  return prepare('nftables (kube-proxy)', count, tag, loadgen, vipTargets, async (t) => {
    const load = (family) => {
      const file = join(WORK, `${t.prefix}-${family}.nft`);
      writeFileSync(file, nftRules(servicesFor(count, t.backends, family), family));
      return timed(() => nsRun(t.nodeNs, ['nft', '-f', file]));
    };
    return { ipv4: load('ipv4'), ipv6: IPV6 ? load('ipv6') : undefined };
  });
}

// ---------------------------------------------------------------------------------------------
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

function checkTools() {
  const needs = {
    clang: true,
    'iptables-nft-restore': KINDS.includes('iptables-nft'),
    'iptables-legacy-restore': KINDS.includes('iptables-legacy'),
    'ip6tables-nft-restore': IPV6 && KINDS.includes('iptables-nft'),
    'ip6tables-legacy-restore': IPV6 && KINDS.includes('iptables-legacy'),
    nft: KINDS.includes('nftables'),
  };
  for (const [bin, needed] of Object.entries(needs)) {
    if (needed && spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0) {
      throw new Error(`bench/clusterip: ${bin} not found (make deps installs iptables, nftables and clang)`);
    }
  }
}

/** One row per case and family, IPv4's first; "vs direct" is against the same family's direct row. */
function printTable(paths) {
  const rows = FAMILIES.flatMap((f) => paths.filter((p) => p.family === f)).map((p) => ({
    ...p,
    rate: median(p.rates),
    p50: median(p.p50s),
    p99: median(p.p99s),
    spread: Math.max(...p.rates) / Math.min(...p.rates) - 1,
  }));
  const ratio = (v, b) => (b ? `${(v / b).toFixed(2)}×` : '-');
  console.log(
    '\n| path | family | services | program (ms) | conn/s | ±spread | vs direct | p50 µs | vs direct | p99 µs | vs direct | failed |',
  );
  console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    const base = rows.find((b) => b.label === 'direct pod IP' && b.family === r.family);
    console.log(
      `| ${r.label} | ${r.family === 'ipv6' ? 'IPv6' : 'IPv4'} | ${r.services} | ${r.setupMs === undefined ? '-' : Math.round(r.setupMs).toLocaleString('en-US')} | ` +
        `${Math.round(r.rate).toLocaleString('en-US')} | ${Math.round(r.spread * 100)}% | ${ratio(r.rate, base?.rate)} | ` +
        `${r.p50.toFixed(0)} | ${ratio(r.p50, base?.p50)} | ${r.p99.toFixed(0)} | ${ratio(r.p99, base?.p99)} | ${r.failed}${r.failed ? ` (${r.firstError})` : ''} |`,
    );
  }
  console.log(socketLbSummary(rows));
  console.log(
    `\nconn/s, p50, p99: medians over the ${ROUNDS} rounds; ±spread: (max - min) / min of the rounds' rates.` +
      '\nprogram: Switchyard = the agent\'s map sync ("sync applied" durationMs; IPv6: the sync that made the Services dual-stack);' +
      ' iptables = iptables-restore (IPv6: ip6tables-restore); nftables = nft -f of the ip (IPv6: ip6) table.',
  );
}

async function main() {
  if (process.getuid?.() !== 0) throw new Error('bench/clusterip: needs root (namespaces, BPF, netfilter)');
  checkTools();
  const loadgen = buildLoadgen();
  console.log(
    `ClusterIP bench: kernel ${run('uname', ['-r']).trim()}, ${run('nproc', []).trim()} CPUs, Node ${process.version}; ` +
      `${ROUNDS} interleaved rounds; each: rate over ${SECONDS}s at ${CONCURRENCY} connections in flight, latency over ${SECONDS}s sequential; ` +
      `families ${FAMILIES.join(', ')}`,
  );

  // Every case is built first and stays up; the rounds then visit its paths in turn (the order
  // rotates), so slow drift of the machine spreads over all of them instead of landing on one.
  const cases = [];
  if (KINDS.includes('direct')) cases.push(await caseDirect(loadgen));
  for (const [i, count] of SERVICE_COUNTS.entries()) {
    if (KINDS.includes('switchyard')) cases.push(await caseSwitchyard(loadgen, count, `s${i}`));
    if (KINDS.includes('socketlb') || !argv.includes('--only'))
      cases.push(
        ...(await socketLbCases(
          { prepare, servicesFor, manifestFor, work: WORK, vipTargets, ipv6: IPV6 },
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
  const paths = cases.flatMap((c) =>
    c.paths.map((p) => Object.assign(p, { label: c.label, services: c.services, t: c.t })),
  );
  await settle();
  for (const p of paths) loadRun(p.t, loadgen, 0.3, CONCURRENCY, p.targets); // warm-up
  for (let round = 0; round < ROUNDS; round++) {
    for (let j = 0; j < paths.length; j++) {
      const p = paths[(j + round) % paths.length];
      const rate = loadRun(p.t, loadgen, SECONDS, CONCURRENCY, p.targets);
      const lat = loadRun(p.t, loadgen, SECONDS, 1, p.targets);
      p.rates.push(rate.rate);
      p.p50s.push(lat.p50);
      p.p99s.push(lat.p99);
      p.failed += rate.failed + lat.failed;
      p.firstError ||= rate.firstError || lat.firstError;
    }
    process.stdout.write(`  round ${round + 1}/${ROUNDS} done\n`);
  }
  printTable(paths);
}

try {
  await main();
} finally {
  cleanupAll();
}
