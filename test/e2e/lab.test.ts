// The lab end to end, driven as a person or a script would: `switchyard lab up`, then only
// `lab status -o json` and `lab exec`, the lab's own commands for changes, and `lab down`.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { DEFAULT_BPF_OBJECT } from '../../src/agent/config.js';
import { hasProgram } from '../../src/lab/lab-elf.js';
import { pidAlive as alive } from '../../src/lab/lab-state.js';
import type { LabStatus } from '../../src/lab/lab-status.js';
import { withLab } from '../lib/lab-cli.js';
import { describeRoot } from '../lib/root.js';

const VIP = '10.99.99.99';
const STICKY = '10.99.99.100';

const fromNetdev = hasProgram(DEFAULT_BPF_OBJECT, 'from_netdev');

describeRoot('switchyard lab', () => {
  const made = { pids: [] as number[], namespaces: [] as string[], pinDirs: [] as string[] };
  const L = withLab({
    letter: 't',
    afterUp: ({ first }) => {
      made.pids.push(first.apiServer.pid, ...first.nodes.map((n) => n.agent.pid), ...first.pods.map((p) => p.pid!));
      made.namespaces.push(
        first.underlay.namespace,
        first.external.namespace,
        ...first.nodes.map((n) => n.namespace),
        ...first.pods.map((p) => p.netns),
      );
      made.pinDirs.push(...first.nodes.map((n) => n.pinDir));
    },
  });
  const { lab, status, probe, probeAsync } = L;
  const myappPods = (s: LabStatus) => L.podsOf('myapp-deploy', s);
  const clientPods = (s: LabStatus) => L.podsOf('client', s);

  it('comes up with two healthy agents, the API server, the example pods and Services', () => {
    expect(L.first.apiServer).toMatchObject({ running: true, url: 'http://10.250.0.11:6443' }); // node1, the control plane
    expect(L.first.nodes.map((n) => [n.name, n.address, n.agent.health])).toEqual([
      ['node1', '10.250.0.11', 'ok'],
      ['node2', '10.250.0.12', 'ok'],
    ]);
    expect(myappPods(L.first)).toHaveLength(5);
    expect(new Set(myappPods(L.first).map((p) => p.node))).toEqual(new Set(['node1', 'node2']));
    expect(L.first.pods.every((p) => p.ready)).toBe(true);
    const svc = (n: string) => L.first.services.find((s) => s.name === n)!;
    expect(svc('myapp-svc')).toMatchObject({
      type: 'NodePort',
      clusterIP: VIP,
      ports: [{ port: 80, nodePort: 30080 }],
    });
    expect(svc('myapp-svc').endpoints).toHaveLength(5);
    expect(svc('my-nginx').clusterIP).toMatch(/^10\.96\./);
    expect(svc('myapp-sticky').sessionAffinity).toBe('ClientIP');
    // Present, and rightly given no entries: 10 proxied service ports (kube-dns and hostnet-web
    // have two each; external-web's come from its Endpoints; default/kubernetes), not the
    // headless or the alias.
    expect(svc('myapp-svc-headless').clusterIP).toBe('None');
    expect(svc('client-svc').type).toBe('ExternalName');
    expect(L.first.nodes.map((n) => n.agent.servicePorts)).toEqual([10, 10]);
  });

  it('spreads 100 requests to the ClusterIP from a pod over all 5 myapp pods', () => {
    const r = probe('client', 'http', `http://${VIP}/hostname.html`, '--count', '100');
    expect(r.failed).toBe(0);
    expect(Object.keys(r.answers).sort()).toEqual(
      myappPods(L.first)
        .map((p) => p.name)
        .sort(),
    );
  });

  it('answers each client from one pod on the ClientIP-affinity Service', () => {
    for (const c of clientPods(L.first)) {
      const r = probe(c.name, 'http', `http://${STICKY}/hostname.html`, '--count', '20');
      expect(r.failed).toBe(0);
      expect(Object.keys(r.answers)).toHaveLength(1);
    }
  });

  it('answers UDP through the ClusterIP on the named targetPort', () => {
    const r = probe('client', 'udp', '10.99.99.53:53', '--count', '20');
    expect(r.failed).toBe(0);
    expect(Object.keys(r.answers).every((n) => n.startsWith('myapp-deploy-'))).toBe(true);
  });

  it('answers the NodePort from the external client on both nodes', () => {
    expect(fromNetdev).toBe(true);
    // Skipped only while build/bpf/switchyard.o has no from_netdev program for the uplinks.
    const names = new Set(myappPods(L.first).map((p) => p.name));
    for (const node of L.first.nodes) {
      const r = probe('external', 'http', `http://${node.address}:30080/hostname.html`, '--count', '30');
      expect(r.errors, `NodePort on ${node.name}`).toEqual({});
      expect(Object.keys(r.answers).every((n) => names.has(n))).toBe(true);
    }
  });

  it('replaces a killed pod, and no later request fails', () => {
    const victim = myappPods(L.first)[0].name;
    lab('kill-pod', victim);
    const after = status();
    const pods = myappPods(after);
    expect(pods).toHaveLength(5);
    expect(pods.every((p) => p.ready)).toBe(true);
    expect(pods.map((p) => p.name)).not.toContain(victim);
    expect(after.services.find((s) => s.name === 'myapp-svc')!.endpoints).toHaveLength(5);
    const r = probe('client', 'http', `http://${VIP}/hostname.html`, '--count', '100');
    expect(r.failed).toBe(0);
    expect(Object.keys(r.answers).sort()).toEqual(pods.map((p) => p.name).sort());
    made.namespaces.push(...after.pods.map((p) => p.netns));
    made.pids.push(...after.pods.map((p) => p.pid!));
  });

  it('loses no request while an agent restarts', async () => {
    const before = status().nodes[0].agent.pid;
    const loop = probeAsync('client', 'http', `http://${VIP}/hostname.html`, '--duration-ms', '4000');
    await new Promise((r) => setTimeout(r, 500));
    lab('restart-agent', 'node1');
    const r = await loop;
    expect(r.failed).toBe(0);
    expect(r.ok).toBeGreaterThan(100);
    const node1 = status().nodes[0];
    expect(node1.agent.pid).not.toBe(before);
    expect(node1.agent.health).toBe('ok');
    made.pids.push(node1.agent.pid);
  });

  it('loses no request while the API server restarts; agents resync writing nothing; a new Service works', async () => {
    const before = status();
    const logFrom = before.nodes.map((n) => ({ file: n.agent.log, at: readFileSync(n.agent.log, 'utf8').length }));
    const loop = probeAsync('client', 'http', `http://${VIP}/hostname.html`, '--duration-ms', '5000');
    await new Promise((r) => setTimeout(r, 500));
    lab('restart-apiserver');
    const r = await loop;
    expect(r.failed, JSON.stringify(r.errors)).toBe(0);
    expect(r.ok).toBeGreaterThan(100);
    const after = status();
    expect(after.apiServer.running).toBe(true);
    expect(after.apiServer.pid).not.toBe(before.apiServer.pid);
    made.pids.push(after.apiServer.pid);

    // Each agent's informers saw the API server go and come back, and relisted: every sync since
    // wrote and deleted nothing (the objects came back as they were).
    const newLines = () =>
      logFrom.map(({ file, at }) =>
        readFileSync(file, 'utf8')
          .slice(at)
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as { msg: string; writes?: number; deletes?: number }),
      );
    for (let i = 0; i < 50 && !newLines().every((ls) => ls.some((l) => l.msg === 'informer recovered')); i++) {
      await new Promise((res) => setTimeout(res, 200));
    }
    for (const lines of newLines()) {
      expect(lines.filter((l) => l.msg === 'informer recovered').length).toBeGreaterThan(0);
      expect(lines.filter((l) => l.msg === 'sync applied' && (l.writes !== 0 || l.deletes !== 0))).toEqual([]);
    }

    // A Service created after the restart is programmed on both nodes.
    const file = `${L.first.stateDir}/after-restart.yaml`;
    writeFileSync(
      file,
      `apiVersion: v1
kind: Service
metadata: {name: after-restart, namespace: default}
spec:
  clusterIP: 10.99.99.77
  selector: {app: myapp, release: canary}
  ports: [{port: 80, targetPort: 80}]
`,
    );
    const ports = status().nodes.map((n) => (n.agent.servicePorts ?? 0) + 1); // one more: the new Service
    lab('apply', '-f', file);
    for (let i = 0; i < 50 && status().nodes.some((n, j) => n.agent.servicePorts !== ports[j]); i++)
      await new Promise((res) => setTimeout(res, 200));
    expect(status().nodes.map((n) => n.agent.servicePorts)).toEqual(ports);
    for (const c of clientPods(L.first)) {
      const p = probe(c.name, 'http', 'http://10.99.99.77/hostname.html', '--count', '20');
      expect(p.failed).toBe(0);
    }
  });

  it('goes down leaving no namespace, process, pin or file behind', () => {
    L.down();
    const namespaces = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    expect(namespaces.split('\n').filter((l) => l.startsWith(`sy${L.name}-`))).toEqual([]);
    expect(made.namespaces.length).toBeGreaterThan(10);
    // pidAlive: an exited process PID 1 has not reaped yet (a zombie) is not one left running.
    expect(made.pids.filter(alive)).toEqual([]);
    const mounts = readFileSync('/proc/self/mounts', 'utf8');
    expect(made.pinDirs.filter((d) => mounts.includes(` ${d} `))).toEqual([]);
    expect(existsSync(L.first.stateDir)).toBe(false);
    expect(lab('down')).toMatch(/nothing to remove/);
  });
});
