// Conntrack under pressure, end to end (issue 13): an idle keep-alive TCP connection through a
// ClusterIP, then a flood of new UDP flows to a UDP ClusterIP whose backend never answers (spoofed
// sources inside the client's own /24, real packets from the client pod's namespace), three times
// the size of the running agent's conntrack map, with 1 and with 3 packets per flood flow; then
// one more request on the idle connection. With one LRU table for all flows it timed out (the
// flood evicted the connection's entries); new flows now wait in ct_new (bpf/ct.h).
import { execFileSync, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MAX_CT_NEW, layouts, type CtEntry, type CtKey } from '../../src/abi/index.js';
import { openPinnedMap } from '../../src/bpf/index.js';
import { spawnIn } from '../../src/lab/namespaces.js';
import { describeRoot } from '../lib/root.js';
import { OneNodeCluster, NODE_BIN } from '../lib/onenode.js';
import { stopProcess } from '../lib/probe.js';

const VIP = '10.96.120.10';
const ECHO_PORT = 7000;
const FLOOD_PORT = 9;
const FLOOD_SRC = { net24: '10.244.0', first: 100, hosts: 155 };

const manifests = (echo: string, sink: string) => `apiVersion: v1
kind: Service
metadata: {name: echo, namespace: default}
spec:
  clusterIP: ${VIP}
  ports:
  - {name: echo, port: ${ECHO_PORT}, protocol: TCP}
  - {name: flood, port: ${FLOOD_PORT}, protocol: UDP}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: echo-a, namespace: default, labels: {kubernetes.io/service-name: echo}}
addressType: IPv4
ports: [{name: echo, port: ${ECHO_PORT}, protocol: TCP}]
endpoints: [{addresses: ["${echo}"], conditions: {ready: true}, nodeName: node1}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: echo-b, namespace: default, labels: {kubernetes.io/service-name: echo}}
addressType: IPv4
ports: [{name: flood, port: ${FLOOD_PORT}, protocol: UDP}]
endpoints: [{addresses: ["${sink}"], conditions: {ready: true}, nodeName: node1}]
`;

// An echo server, and a client that holds one connection open and idle: it sends "ping1" at once
// (retrying the connect while the server starts), "ping2" on SIGUSR1, and logs what came back (or
// "timeout" after 5 s without the echo).
const ECHO_SERVER = `require('net').createServer((s) => s.pipe(s)).listen(${ECHO_PORT}, '0.0.0.0');`;
const IDLE_CLIENT = `let s, up = false, tries = 0;
function open() {
  s = require('net').connect(${ECHO_PORT}, '${VIP}');
  s.on('connect', () => s.write('ping1\\n'));
  s.on('data', (d) => {
    up = true;
    for (const l of d.toString().split('\\n')) if (l) console.log('echo ' + l);
    if (d.toString().includes('ping2')) process.exit(0);
  });
  s.on('error', (e) => {
    if (!up && ++tries < 40) return setTimeout(open, 250);
    console.log('error ' + e.code);
    process.exit(1);
  });
}
open();
process.on('SIGUSR1', () => {
  s.write('ping2\\n');
  setTimeout(() => { console.log('timeout'); process.exit(1); }, 5000);
});`;

describeRoot('conntrack under pressure, end to end', () => {
  let c: OneNodeCluster;
  let flooder: string;
  const procs: ChildProcess[] = [];

  beforeAll(async () => {
    c = new OneNodeCluster();
    const echo = c.addPod('echo', { serve: false });
    const sink = c.addPod('sink', { serve: false }); // nothing listens: the flood is never answered
    c.addPod('client', { serve: false });
    procs.push(spawnIn(c.pods.get('echo')!.ns, [NODE_BIN, '-e', ECHO_SERVER]));
    flooder = join(c.workDir, 'udpflood');
    execFileSync('clang', ['-O2', '-o', flooder, new URL('../lib/udpflood.c', import.meta.url).pathname]);
    c.writeManifest('echo.yaml', manifests(echo, sink));
    c.startAgent();
    await c.waitFor("the agent's first sync", () => c.agentLogText().includes('"sync applied"'), 30_000);
  });

  afterAll(async () => {
    for (const p of procs) await stopProcess(p);
    await c?.destroy();
  });

  /** The idle client: started, its first echo seen; returns its log file. */
  async function idleConnection(name: string): Promise<{ proc: ChildProcess; log: () => string }> {
    const file = join(c.workDir, `${name}.log`);
    const proc = spawnIn(c.pods.get('client')!.ns, [NODE_BIN, '-e', IDLE_CLIENT], { logFd: openSync(file, 'a') });
    procs.push(proc);
    const log = () => {
      try {
        return readFileSync(file, 'utf8');
      } catch {
        return '';
      }
    };
    await c.waitFor(`${name}'s first echo (log: ${log()})`, () => log().includes('echo ping1'), 20_000);
    return { proc, log };
  }

  for (const packets of [1, 3]) {
    it(`an idle keep-alive connection answers after new UDP flows of 3x conntrack's size, ${packets} pkt each`, async () => {
      const ct = openPinnedMap<CtKey, CtEntry>(join(c.pinDir, 'conntrack'), layouts.ctKey, layouts.ctEntry);
      const flows = 3 * ct.maxEntries;
      ct.close();
      const conn = await idleConnection(`idle${packets}`);
      const out = execFileSync(
        'ip',
        [
          'netns',
          'exec',
          c.pods.get('client')!.ns,
          flooder,
          VIP,
          String(FLOOD_PORT),
          FLOOD_SRC.net24,
          String(FLOOD_SRC.first),
          String(FLOOD_SRC.hosts),
          String(flows),
          String(packets),
        ],
        { encoding: 'utf8' },
      );
      const tally = JSON.parse(out) as { sent: number; failed: number; seconds: number };
      const [inUse, fresh] = ['conntrack', 'ct_new'].map((n) => {
        const m = openPinnedMap<CtKey, CtEntry>(join(c.pinDir, n), layouts.ctKey, layouts.ctEntry);
        try {
          return m.keys().length;
        } finally {
          m.close();
        }
      });
      console.log(
        `flood: ${flows} flows (3x the ${flows / 3}-entry conntrack map) x ${packets} packet(s): ${tally.sent} sent ` +
          `in ${tally.seconds} s, ${tally.failed} failed; afterwards conntrack holds ${inUse} entries, ct_new ${fresh}`,
      );
      expect(tally.sent).toBe(flows * packets);
      // The agent's metrics tell the flood happened, and that it stayed in ct_new.
      const text = execFileSync('ip', ['netns', 'exec', c.nodeNs, 'curl', '-sf', 'http://127.0.0.1:10249/metrics'], {
        encoding: 'utf8',
      });
      const metric = (series: string) =>
        Number(
          text
            .split('\n')
            .find((l) => l.startsWith(`${series} `))
            ?.split(' ')[1],
        );
      console.log(
        `metrics: conntrack ${metric('switchyard_conntrack_entries{table="conntrack"}')} entries, ct_new ` +
          `${metric('switchyard_conntrack_entries{table="ct_new"}')}, evicted from ct_new ` +
          `${metric('switchyard_conntrack_evicted_entries_total{table="ct_new"}')}`,
      );
      expect(metric('switchyard_conntrack_entries{table="conntrack"}')).toBeLessThan(100);
      expect(metric('switchyard_conntrack_evicted_entries_total{table="ct_new"}')).toBeGreaterThanOrEqual(
        2 * flows - MAX_CT_NEW,
      );

      conn.proc.kill('SIGUSR1');
      await c.waitFor(
        `the idle connection's answer after the flood (log: ${conn.log()})`,
        () => /echo ping2|timeout|error/.test(conn.log()),
        15_000,
      );
      expect(conn.log()).toContain('echo ping2');
    });
  }
});
