// Hand-written v1 Endpoints in the lab: a Service without a selector whose Endpoints point at a
// server outside the cluster (the external host) answers from a pod; editing the Endpoints moves
// the traffic. The lab mirrors them into EndpointSlices as Kubernetes does.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { withLab } from '../lib/lab-cli.js';
import { describeRoot } from '../lib/root.js';

const dir = mkdtempSync(join(tmpdir(), 'sy-endpoints-'));

const endpoints = (ip: string) => `apiVersion: v1
kind: Endpoints
metadata: {name: external-web}
subsets:
  - addresses: [{ip: ${ip}}]
    ports: [{name: http, port: 80}]
`;

function until(ok: () => boolean, ms = 3000): boolean {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) if (ok()) return true;
  return false;
}

describeRoot('lab Endpoints objects', () => {
  const L = withLab({ letter: 'e', afterDown: () => rmSync(dir, { recursive: true, force: true }) });
  const { lab, status, exec } = L;
  const get = () => exec('client', 'curl', '-s', '-m', '3', 'http://external-web/hostname.html');

  it("mirrors the example Endpoints into the Service's slice: the external address", () => {
    const svc = L.first.services.find((s) => s.name === 'external-web')!;
    expect(svc.endpoints).toEqual(['10.250.0.200:80']);
    expect(svc.clusterIP).toMatch(/^10\.96\./);
  });

  it('answers from a pod through the selector-less Service, by name and by cluster IP', () => {
    const svc = L.first.services.find((s) => s.name === 'external-web')!;
    expect(exec('client', 'curl', '-s', '-m', '3', 'http://external-web/hostname.html')).toBe('external\n');
    expect(exec('client', 'curl', '-s', '-m', '3', `http://${svc.clusterIP}/hostname.html`)).toBe('external\n');
  });

  it('moves the traffic when the Endpoints are edited, and back', () => {
    const pod = L.podsOf('myapp-deploy')[0];
    const file = join(dir, 'ep.yaml');
    writeFileSync(file, endpoints(pod.ip));
    lab('apply', '-f', file);
    expect(status().services.find((s) => s.name === 'external-web')!.endpoints).toEqual([`${pod.ip}:80`]);
    // The agents follow the slice within moments of the apply; then every request goes to the pod.
    expect(until(() => get() === `${pod.name}\n`)).toBe(true);
    for (let i = 0; i < 5; i++) expect(get()).toBe(`${pod.name}\n`);
    writeFileSync(file, endpoints('10.250.0.200'));
    lab('apply', '-f', file);
    expect(until(() => get() === 'external\n')).toBe(true);
  });

  it('gives pods the Service environment variables of the Services that existed when they started', () => {
    const nginx = L.first.services.find((s) => s.name === 'my-nginx')!;
    const env = exec('client', 'curl', '-s', '-m', '3', 'http://127.0.0.1/env');
    expect(env).toContain(`MY_NGINX_SERVICE_HOST=${nginx.clusterIP}\n`);
    expect(env).toContain('MY_NGINX_SERVICE_PORT=80\n');
    expect(env).toContain(`MY_NGINX_PORT_80_TCP=tcp://${nginx.clusterIP}:80\n`);
    // Only the pod's namespace (kube-dns is in kube-system), and no variables without a cluster IP.
    expect(env).not.toContain('KUBE_DNS_');
    expect(env).not.toContain('MYAPP_SVC_HEADLESS_');
  });

  it('removes the mirrored slice with the Endpoints', () => {
    lab('delete', '-f', join(dir, 'ep.yaml'));
    expect(status().services.find((s) => s.name === 'external-web')!.endpoints).toEqual([]);
  });
});
