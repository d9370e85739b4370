// ClientIP session affinity end to end on one node (issue 5, ClusterIP part): a real agent fed
// from manifests, three backends, several client pods, real TCP. Every probe request is a new
// connection, so each one is a fresh load-balancing decision that affinity must override.
// Live edits rewrite the manifest and wait until the pinned frontend shows them: no restart.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openPinnedMap, type TypedMap } from '../../src/bpf/index.js';
import * as L from '../../src/abi/layouts.js';
import {
  IPPROTO_TCP,
  SCOPE_INTERNAL,
  type Affinity,
  type AffinityKey,
  type Frontend,
  type FrontendKey,
} from '../../src/abi/index.js';
import { describeRoot } from '../lib/root.js';
import type { ProbeResult } from '../../src/lab/probe.js';
import { OneNodeCluster } from '../lib/onenode.js';

const VIP = '10.96.110.10';
const OTHER_VIP = '10.96.110.20';
const URL_ = `http://${VIP}/hostname.html`;
const BACKENDS = ['web1', 'web2', 'web3'];
const CLIENTS = ['client1', 'client2', 'client3', 'client4', 'client5', 'client6', 'client7', 'client8'];

type Affinity_ = { mode: 'None' } | { mode: 'ClientIP'; timeout?: number };

function service(name: string, vip: string, aff: Affinity_): string {
  const cfg =
    aff.mode === 'ClientIP' && aff.timeout !== undefined
      ? `\n  sessionAffinityConfig: {clientIP: {timeoutSeconds: ${aff.timeout}}}`
      : '';
  return `apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: default}
spec:
  clusterIP: ${vip}
  sessionAffinity: ${aff.mode}${cfg}
  ports: [{name: http, port: 80, targetPort: 80, protocol: TCP}]
`;
}

function slice(service: string, ips: string[]): string {
  return `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: ${service}-abc
  namespace: default
  labels: {kubernetes.io/service-name: ${service}}
addressType: IPv4
ports: [{name: http, port: 80, protocol: TCP}]
endpoints:
${ips.map((ip) => `  - addresses: ["${ip}"]\n    conditions: {ready: true}\n    nodeName: node1`).join('\n')}
`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The one backend a probe reached; fails the test if it reached none, several, or failed. */
function onlyAnswer(r: ProbeResult, who: string): string {
  expect(r.failed, `${who}: ${JSON.stringify(r.errors)}`).toBe(0);
  const seen = Object.keys(r.answers);
  expect(seen, `${who} reached ${JSON.stringify(r.answers)}`).toHaveLength(1);
  return seen[0]!;
}

describeRoot('ClientIP session affinity end to end', () => {
  let c: OneNodeCluster;
  let frontends: TypedMap<FrontendKey, Frontend>;
  let affinity: TypedMap<AffinityKey, Affinity>;
  const ipOf: Record<string, string> = {};
  const feKey = (addr: string): FrontendKey => ({ addr, port: 80, proto: IPPROTO_TCP, scope: SCOPE_INTERNAL });
  const frontend = (addr = VIP) => frontends.get(feKey(addr));

  /** Rewrites web.yaml and waits until the pinned frontend shows the edit. */
  async function setWeb(aff: Affinity_, backends = BACKENDS): Promise<void> {
    c.writeManifest(
      'web.yaml',
      `${service('web', VIP, aff)}---\n${slice(
        'web',
        backends.map((b) => ipOf[b]!),
      )}`,
    );
    const timeout = aff.mode === 'None' ? 0 : (aff.timeout ?? 10800);
    await c.waitFor(
      `web: affinity ${timeout}, ${backends.length} backends`,
      () => frontend()?.affinityTimeout === timeout && frontend()?.count === backends.length,
    );
  }

  /** One draw per client, in parallel: `perClient` new connections each, which must all agree. */
  async function draw(clients: string[], perClient = 3): Promise<Record<string, string>> {
    const results = await Promise.all(
      clients.map((cl) => c.probeAsync(cl, ['http', URL_, '--count', String(perClient)])),
    );
    return Object.fromEntries(clients.map((cl, i) => [cl, onlyAnswer(results[i]!, cl)]));
  }

  beforeAll(async () => {
    c = new OneNodeCluster();
    for (const name of BACKENDS) ipOf[name] = c.addPod(name);
    for (const name of CLIENTS) ipOf[name] = c.addPod(name, { serve: false });
    c.writeManifest(
      'web.yaml',
      `${service('web', VIP, { mode: 'ClientIP' })}---\n${slice(
        'web',
        BACKENDS.map((b) => ipOf[b]!),
      )}`,
    );
    c.writeManifest(
      'other.yaml',
      `${service('other', OTHER_VIP, { mode: 'ClientIP' })}---\n${slice(
        'other',
        BACKENDS.map((b) => ipOf[b]!),
      )}`,
    );
    c.startAgent();
    await c.waitFor('the ClusterIP to answer', () => c.probe('client1', ['http', URL_]).ok === 1, 20_000);
    frontends = openPinnedMap(`${c.pinDir}/frontends`, L.frontendKey, L.frontend);
    affinity = openPinnedMap(`${c.pinDir}/affinity`, L.affinityKey, L.affinity);
  });

  afterAll(async () => {
    frontends?.close();
    affinity?.close();
    await c?.destroy();
  });

  it('sends 50 connections of one client to one backend, and a second client to its own stable one', async () => {
    const [one, two] = await Promise.all(
      ['client1', 'client2'].map((cl) => c.probeAsync(cl, ['http', URL_, '--count', '50'])),
    );
    const b1 = onlyAnswer(one!, 'client1');
    const b2 = onlyAnswer(two!, 'client2');
    expect(one!.ok).toBe(50);
    expect(two!.ok).toBe(50);
    // The data path keeps one entry per (backend set, client), pointing at the backend it answered from.
    const setId = frontend()!.setId;
    const ids = new Map(
      affinity
        .entries()
        .filter(([k]) => k.setId === setId)
        .map(([k, v]) => [k.clientAddr, v.backendId]),
    );
    expect(ids.has(ipOf.client1!) && ids.has(ipOf.client2!)).toBe(true);
    expect(ids.get(ipOf.client1!) === ids.get(ipOf.client2!)).toBe(b1 === b2);
    // ...and the choice holds on the next connections too.
    expect(onlyAnswer(c.probe('client1', ['http', URL_, '--count', '10']), 'client1')).toBe(b1);
    expect(onlyAnswer(c.probe('client2', ['http', URL_, '--count', '10']), 'client2')).toBe(b2);
  });

  it('switches None ↔ ClientIP on the live Service: spread, then sticky, with no restart', async () => {
    await setWeb({ mode: 'None' });
    const spread = c.probe('client1', ['http', URL_, '--count', '60']);
    expect(spread.failed).toBe(0);
    expect(Object.keys(spread.answers).sort()).toEqual(BACKENDS);
    await setWeb({ mode: 'ClientIP' });
    const sticky = c.probe('client1', ['http', URL_, '--count', '50']);
    onlyAnswer(sticky, 'client1');
    expect(c.agentLogText()).not.toMatch(/agent started[\s\S]*agent started/);
  });

  it('redraws after timeoutSeconds of idle, and applies a live timeout change both ways', async () => {
    // Default timeout (10800 s): 3 s of idle changes nothing.
    const before = await draw(CLIENTS);
    await sleep(3000);
    expect(await draw(CLIENTS)).toEqual(before);

    // timeoutSeconds: 2, live. Each round: 3 s idle, then 3 new connections per client, which
    // must agree (the fresh choice is sticky again) but need not match the previous round.
    await setWeb({ mode: 'ClientIP', timeout: 2 });
    const rounds = [await draw(CLIENTS)];
    for (let i = 0; i < 3; i++) {
      await sleep(3000);
      rounds.push(await draw(CLIENTS));
    }
    let changes = 0;
    for (let i = 1; i < rounds.length; i++)
      for (const cl of CLIENTS) if (rounds[i]![cl] !== rounds[i - 1]![cl]) changes++;
    // 24 redraws with a 2/3 chance each to change: expect ~16; 6 or fewer happens ~1e-4 of the time.
    expect(changes, JSON.stringify(rounds)).toBeGreaterThan(6);
    expect(new Set(rounds.flatMap((r) => Object.values(r))).size).toBe(3);

    // Back to a long timeout, live: 3 s of idle keeps every client where it is again.
    await setWeb({ mode: 'ClientIP', timeout: 60 });
    const held = await draw(CLIENTS);
    await sleep(3000);
    expect(await draw(CLIENTS)).toEqual(held);
  });

  it('never sends a sticky client to a backend removed from the Service; it moves on with no failure', async () => {
    const gone = onlyAnswer(c.probe('client1', ['http', URL_, '--count', '5']), 'client1');
    const setId = frontend()!.setId;
    const goneId = affinity.get({ setId, clientAddr: ipOf.client1! })!.backendId;
    // The client keeps connecting while the backend leaves: every connection must succeed.
    const during = c.probeAsync('client1', ['http', URL_, '--duration-ms', '3000']);
    await sleep(500);
    await setWeb(
      { mode: 'ClientIP', timeout: 60 },
      BACKENDS.filter((b) => b !== gone),
    );
    const r = await during;
    expect(r.failed, JSON.stringify(r.errors)).toBe(0);
    const after = c.probe('client1', ['http', URL_, '--count', '50']);
    const next = onlyAnswer(after, 'client1');
    expect(next).not.toBe(gone);
    // While it ran, the client met its old backend, then its new one: nothing else, no failure.
    expect(
      Object.keys(r.answers).every((b) => b === gone || b === next),
      JSON.stringify(r.answers),
    ).toBe(true);
    expect(r.answers[next]).toBeGreaterThan(0);
    expect(affinity.get({ setId, clientAddr: ipOf.client1! })!.backendId).not.toBe(goneId);
    // The other clients, whatever they were stuck to, never reach it either.
    const others = await draw(CLIENTS.slice(1), 10);
    expect(Object.values(others)).not.toContain(gone);
    // No entry anywhere still names the removed backend.
    expect(affinity.entries().filter(([, v]) => v.backendId === goneId)).toEqual([]);
  });

  it('prunes the affinity entries of a deleted Service, and only those', async () => {
    await draw(['client1', 'client2']);
    for (const cl of ['client1', 'client2'])
      onlyAnswer(c.probe(cl, ['http', `http://${OTHER_VIP}/hostname.html`, '--count', '3']), cl);
    const webSet = frontend()!.setId;
    const otherSet = frontend(OTHER_VIP)!.setId;
    const sets = () => affinity.entries().map(([k]) => k.setId);
    expect(sets()).toContain(webSet);
    expect(sets().filter((s) => s === otherSet)).toHaveLength(2);

    c.removeManifest('web.yaml');
    await c.waitFor('the web frontend to go', () => frontend() === undefined);
    await c.waitFor("web's affinity entries to be pruned", () => !sets().includes(webSet));
    expect(sets().filter((s) => s === otherSet)).toHaveLength(2);
    const r = c.probe('client1', ['http', URL_, '--timeout-ms', '500']);
    expect(r.ok).toBe(0);
  });
});
