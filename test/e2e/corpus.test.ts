// The regression corpus fed to a running agent (test/corpus), next to healthy Services: each
// hostile or broken object is logged with its file, object and field; nothing it asks for
// intercepts anyone else's traffic; the healthy Services keep answering.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeRoot } from '../lib/root.js';
import { OneNodeCluster } from '../lib/onenode.js';
import { nsRun } from '../../src/lab/namespaces.js';
import { CORPUS_AGENT_FLAGS, corpusCases } from '../corpus/corpus.js';

const WEB_VIP = '10.96.210.1';

const service = (name: string, vip: string, created: string) => `apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: default, creationTimestamp: "${created}"}
spec:
  clusterIP: ${vip}
  ports: [{name: http, port: 80, targetPort: 80}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: ${name}-1, namespace: default, labels: {kubernetes.io/service-name: ${name}}}
addressType: IPv4
ports: [{name: http, port: 80, protocol: TCP}]
`;
const endpoint = (ip: string) =>
  `endpoints:\n  - addresses: ["${ip}"]\n    conditions: {ready: true}\n    nodeName: node1\n`;

describeRoot('regression corpus through a running agent', () => {
  let c: OneNodeCluster;
  let web1 = '',
    web2 = '';

  beforeAll(async () => {
    c = new OneNodeCluster();
    web1 = c.addPod('web1');
    web2 = c.addPod('web2'); // 10.244.0.12: the pod the corpus's hijack Service names
    c.addPod('client', { serve: false });
    expect(web2).toBe('10.244.0.12');
    for (const k of corpusCases()) writeFileSync(join(c.manifests, k.file), k.text);
    c.writeManifest('web.yaml', service('web', WEB_VIP, '2025-01-01T00:00:00Z') + endpoint(web1));
    c.startAgent({ extraArgs: CORPUS_AGENT_FLAGS });
    await c.waitFor(
      'the healthy ClusterIP to answer',
      () => c.probe('client', ['http', `http://${WEB_VIP}/hostname.html`]).ok === 1,
      30_000,
    );
  });

  afterAll(async () => {
    await c?.destroy();
  });

  it('logs every error the corpus states, naming its file', () => {
    const log = c.agentLogText();
    for (const k of corpusCases()) {
      for (const want of k.expects) {
        const line = log
          .split('\n')
          .find((l) => l.includes(k.file) && want.test(JSON.parse(l).error ?? JSON.parse(l).msg ?? ''));
        expect(line, `${k.file}: nothing in the agent log matches ${want}`).toBeDefined();
      }
    }
  });

  it('does not let a Service naming a pod IP in externalIPs intercept that pod: 100/100 direct', () => {
    const r = c.probe('client', ['http', `http://${web2}/hostname.html`, '--count', '100']);
    expect(r.ok).toBe(100);
    expect(r.answers).toEqual({ web2: 100 });
    const metrics = nsRun(c.nodeNs, ['curl', '-s', 'http://127.0.0.1:10249/metrics']);
    expect(metrics).toMatch(
      /switchyard_refused_external_addresses\{namespace="default",service="hijack",field="spec\.externalIPs\[2\]"\} 1/,
    );
  });

  it('keeps a taken frontend with its Service when a second one claims it: 100/100 to the first', async () => {
    c.writeManifest('second.yaml', service('second', WEB_VIP, '2020-01-01T00:00:00Z') + endpoint(web2));
    await c.waitFor(
      'the claim to be refused',
      () => /second.*already taken by Service default\/web/.test(c.agentLogText()),
      15_000,
    );
    const r = c.probe('client', ['http', `http://${WEB_VIP}/hostname.html`, '--count', '100']);
    expect(r.answers).toEqual({ web1: 100 });

    // When the holder goes, the newcomer gets the frontend.
    c.removeManifest('web.yaml');
    await c.waitFor(
      'the frontend to move to the second Service',
      () => c.probe('client', ['http', `http://${WEB_VIP}/hostname.html`]).answers.web2 === 1,
      15_000,
    );
  });
});
