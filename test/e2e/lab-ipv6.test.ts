// IPv6 and dual stack end to end in the lab (issue 15), driven only through `switchyard lab …`:
// the IPv6 ClusterIP from a pod over TCP and UDP, the IPv6 NodePort from the external client on
// both nodes (Cluster policy, and Local keeping the client's address), ClientIP affinity over
// IPv6, and a Service moving from SingleStack to PreferDualStack under an IPv4 loop.
// The lab part (addresses, routes, slices, cluster IPs) runs always; the Service checks need a
// data path that looks IPv6 frontends up and are skipped, visibly, while build/bpf/switchyard.o's
// programs do not.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { DEFAULT_BPF_OBJECT } from '../../src/agent/config.js';
import { servesIpv6 } from '../../src/lab/lab-elf.js';
import { withLab } from '../lib/lab-cli.js';
import { describeRoot } from '../lib/root.js';

const VIP6 = 'fd00:96::99:99:99';
const STICKY6 = 'fd00:96::99:99:100';
const ECHO6 = 'fd00:96::99:99:53';
/** Some program of the object looks up frontends6 (declared maps alone serve nothing). */
const served = servesIpv6(DEFAULT_BPF_OBJECT);
const itServed = served ? it : it.skip;

const node6 = (i: number) => `fd00:250::${10 + i}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeRoot('lab, dual stack', () => {
  let dir = '';
  const L = withLab({
    letter: 's',
    up: ['--ip-family', 'dual'],
    afterUp: () => {
      dir = mkdtempSync(join(tmpdir(), 'sy-v6-'));
    },
    afterDown: () => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  });
  const { lab, status, probe, probeAsync } = L;
  const myapp = () => L.podsOf('myapp-deploy');
  const apply = (file: string, text: string) => {
    writeFileSync(join(dir, file), text);
    return lab('apply', '-f', join(dir, file));
  };

  it('gives PreferDualStack Services an IPv6 cluster IP and IPv6 endpoints, SingleStack ones none', () => {
    const svc = (n: string) => L.first.services.find((s) => s.name === n)!;
    expect(svc('myapp-svc').clusterIPs).toEqual(['10.99.99.99', VIP6]);
    expect(svc('myapp-svc').endpoints6).toHaveLength(5);
    expect(svc('myapp-svc').endpoints6!.every((e) => /^\[fd10:244:[12]::\d+\]:80$/.test(e))).toBe(true);
    expect(svc('kube-dns').clusterIPs).toEqual(['10.96.0.10']);
    expect(svc('kube-dns').endpoints6).toBeUndefined();
  });

  it('routes IPv6 between pods on different nodes and from the external client, addresses kept', () => {
    const far = myapp().find((p) => p.node === 'node2')!;
    const ip6 = far.ip.replace(/^10\.244\.(\d+)\.(\d+)$/, 'fd10:244:$1::$2');
    const r = probe('client', 'http', `http://[${ip6}]/clientip`, '--count', '3');
    expect(r.failed).toBe(0);
    expect(Object.keys(r.answers)[0]).toMatch(new RegExp(`^${far.name} fd10:244:[12]::\\d+$`));
    const x = probe('external', 'http', `http://[${ip6}]/clientip`, '--count', '1');
    expect(Object.keys(x.answers)).toEqual([`${far.name} fd00:250::200`]);
  });

  itServed('spreads the IPv6 ClusterIP over all 5 pods, over TCP and UDP', () => {
    const names = myapp()
      .map((p) => p.name)
      .sort();
    const tcp = probe('client', 'http', `http://[${VIP6}]/hostname.html`, '--count', '100');
    expect(tcp.failed).toBe(0);
    expect(Object.keys(tcp.answers).sort()).toEqual(names);
    const udp = probe('client', 'udp', `[${ECHO6}]:53`, '--count', '100');
    expect(udp.failed).toBe(0);
    expect(Object.keys(udp.answers).sort()).toEqual(names);
  });

  itServed('keeps each client on one pod over IPv6 with ClientIP affinity', () => {
    for (const c of L.podsOf('client')) {
      const r = probe(c.name, 'http', `http://[${STICKY6}]/hostname.html`, '--count', '20');
      expect(r.failed).toBe(0);
      expect(Object.keys(r.answers)).toHaveLength(1);
    }
  });

  itServed(
    "answers the IPv6 NodePort on both nodes from their own pods, keeping the client's address (eTP Local)",
    () => {
      apply(
        'etp-local.yaml',
        `apiVersion: v1
kind: Service
metadata: {name: local6, namespace: default}
spec:
  type: NodePort
  ipFamilyPolicy: PreferDualStack
  externalTrafficPolicy: Local
  selector: {app: myapp, release: canary}
  ports: [{port: 80, targetPort: 80, nodePort: 30081}]
`,
      );
      for (const i of [1, 2]) {
        const mine = new Set(
          myapp()
            .filter((p) => p.node === `node${i}`)
            .map((p) => p.name),
        );
        const r = probe('external', 'http', `http://[${node6(i)}]:30081/clientip`, '--count', '30');
        expect(r.errors, `node${i}`).toEqual({});
        const answers = Object.keys(r.answers).map((a) => a.split(' '));
        expect(new Set(answers.map(([pod]) => pod)), `node${i} answers from all its pods`).toEqual(mine);
        expect(new Set(answers.map(([, client]) => client))).toEqual(new Set(['fd00:250::200']));
      }
    },
  );

  // Remote pods are reached through IPv6 SNAT to the node (config6's address, written by the agent).
  itServed('answers the IPv6 NodePort (Cluster policy) on both nodes from pods of both nodes', () => {
    for (const i of [1, 2]) {
      // Every one of the 5 pods must answer: with 30 requests one was missed ~0.6% of the time
      // per node (5 × 0.8^30), and it was, once in CI; with 80 the odds are 5 × 0.8^80 ≈ 1e-7.
      const r = probe('external', 'http', `http://[${node6(i)}]:30080/hostname.html`, '--count', '80');
      expect(r.errors, `node${i}`).toEqual({});
      expect(new Set(Object.keys(r.answers)), `node${i}`).toEqual(new Set(myapp().map((p) => p.name)));
    }
  });

  itServed('gains the IPv6 frontend on SingleStack → PreferDualStack with no IPv4 request lost', async () => {
    const svc = (policy: string) => `apiVersion: v1
kind: Service
metadata: {name: switch6, namespace: default}
spec:
  clusterIP: 10.99.99.77
  ipFamilyPolicy: ${policy}
  selector: {app: myapp, release: canary}
  ports: [{port: 80, targetPort: 80}]
`;
    apply('switch-1.yaml', svc('SingleStack'));
    expect(status().services.find((s) => s.name === 'switch6')!.clusterIPs).toEqual(['10.99.99.77']);
    const loop = probeAsync('client', 'http', 'http://10.99.99.77/hostname.html', '--duration-ms', '4000');
    await sleep(1000);
    apply('switch-2.yaml', svc('PreferDualStack'));
    const r = await loop;
    expect(r.failed).toBe(0);
    expect(r.ok).toBeGreaterThan(20);
    const v6 = status().services.find((s) => s.name === 'switch6')!.clusterIPs!;
    expect(v6).toEqual(['10.99.99.77', 'fd00:96::99:99:77']);
    const after = probe(
      'client',
      'http',
      'http://[fd00:96::99:99:77]/hostname.html',
      '--count',
      '10',
      '--timeout-ms',
      '3000',
    );
    expect(after.failed).toBe(0);
  });
});
