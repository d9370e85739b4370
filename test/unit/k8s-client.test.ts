// The agent's API connection (src/k8s/kubeconfig.ts, kubeconfig-child.ts, client.ts): the
// kubeconfig read by client-node in a child process, handed back as plain data, used over
// node:https with the kubeconfig's CA, client certificate and tls-server-name, and credentials
// loaded again when the API server says 401.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { FakeApiServer, accessFor, kubeconfigFor } from '../../src/fakeapi/server.js';
import { ApiClient, ApiError } from '../../src/k8s/client.js';
import { KubeConfigError, loadApiAccess } from '../../src/k8s/kubeconfig.js';
import { listRaw } from '../../src/k8s/list.js';

const tmp = mkdtempSync(join(tmpdir(), 'sy-k8s-client-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let api: FakeApiServer | undefined;
afterEach(async () => {
  await api?.stop();
  api = undefined;
});

/** A double that wants the bearer token @token. */
async function apiWanting(token: string): Promise<string> {
  api = new FakeApiServer({ bookmarkIntervalMs: 0, token });
  return (await api.start()).url;
}

// Each loadApiAccess runs the kubeconfig child, which imports client-node: seconds when loaded.
describe('credentials that change', { timeout: 60_000 }, () => {
  it('a 401 loads the kubeconfig again (in the child) and retries with the new token', async () => {
    const url = await apiWanting('new-token');
    const kubeconfig = join(tmp, 'rotated');
    writeFileSync(kubeconfig, kubeconfigFor(url, 'old-token'));
    const source = { kubeconfig };
    const access = await loadApiAccess(source);
    expect(access.headers.Authorization).toBe('Bearer old-token');
    // Without a way to load it again, the 401 is final.
    const err = await listRaw(new ApiClient(access), '/api/v1/services', {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ statusCode: 401 });

    const client = new ApiClient(access, { reload: () => loadApiAccess(source), minReloadMs: 0 });
    writeFileSync(kubeconfig, kubeconfigFor(url, 'new-token')); // as an exec plugin's next token
    const list = await listRaw(client, '/api/v1/services', {});
    expect(list.kind).toBe('ServiceList');
    expect(client.reloads).toBe(1);
    await listRaw(client, '/api/v1/services', {});
    expect(client.reloads).toBe(1); // nothing to load while the credentials work
  });

  it('loads again at most once per minReloadMs, and concurrent 401s share one load', async () => {
    const url = await apiWanting('right');
    let loads = 0;
    const wrong = { ...accessFor(url, 'wrong') };
    const client = new ApiClient(wrong, {
      reload: async () => {
        loads++;
        await new Promise((r) => setTimeout(r, 20));
        return accessFor(url, 'right');
      },
      minReloadMs: 0,
    });
    const lists = await Promise.all([1, 2, 3].map(() => listRaw(client, '/api/v1/services', {})));
    expect(lists.map((l) => l.kind)).toEqual(['ServiceList', 'ServiceList', 'ServiceList']);
    expect(loads).toBe(1);
    const reload = async () => {
      loads++;
      return wrong;
    };
    const stubborn = new ApiClient(wrong, { reload, minReloadMs: 60_000 });
    await expect(listRaw(stubborn, '/api/v1/services', {})).rejects.toMatchObject({ statusCode: 401 });
    expect(loads).toBe(1); // loaded just now (the constructor): not again within the minute
  });

  it('reads the in-cluster token file again after a 401 (the kubelet rotated it)', async () => {
    const url = await apiWanting('second');
    const tokenFile = join(tmp, 'token');
    writeFileSync(tokenFile, 'first');
    const client = new ApiClient({ ...accessFor(url, 'first'), tokenFile }, { tokenFileMs: 3_600_000 });
    await expect(listRaw(client, '/api/v1/services', {})).rejects.toMatchObject({ statusCode: 401 });
    writeFileSync(tokenFile, 'second\n');
    expect((await listRaw(client, '/api/v1/services', {})).kind).toBe('ServiceList');
    expect(client.reloads).toBe(0); // a file read, no child
  });
});

describe('the kubeconfig child', { timeout: 60_000 }, () => {
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: tmp, stdio: 'pipe' });
  const pem = (f: string) => readFileSync(join(tmp, f), 'utf8');
  const b64 = (f: string) => Buffer.from(pem(f)).toString('base64');

  it('hands over the CA, client certificate and tls-server-name: a TLS API server with client auth answers', async () => {
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=test-ca');
    for (const [name, cn] of [
      ['srv', 'kube-apiserver'],
      ['cl', 'system:node:a'],
    ]) {
      openssl('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
      writeFileSync(join(tmp, `${name}.ext`), name === 'srv' ? 'subjectAltName=DNS:kubernetes.default.svc\n' : '\n');
      openssl(
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-out',
        `${name}.crt`,
        '-days',
        '1',
        '-extfile',
        `${name}.ext`,
      );
    }
    const seen: string[] = [];
    const server = createServer(
      { key: pem('srv.key'), cert: pem('srv.crt'), ca: pem('ca.crt'), requestCert: true, rejectUnauthorized: true },
      (req, res) => {
        seen.push(
          `${req.url} ${(req.socket as { getPeerCertificate?: () => { subject?: { CN?: string } } }).getPeerCertificate?.().subject?.CN}`,
        );
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ kind: 'ServiceList', metadata: { resourceVersion: '7' }, items: [] }));
      },
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as AddressInfo).port;
      const kubeconfig = join(tmp, 'tls');
      writeFileSync(
        kubeconfig,
        [
          'apiVersion: v1',
          'kind: Config',
          'current-context: c',
          `clusters: [{name: k, cluster: {server: "https://10.96.0.1:443", tls-server-name: kubernetes.default.svc, certificate-authority-data: ${b64('ca.crt')}}}]`,
          `users: [{name: u, user: {client-certificate-data: ${b64('cl.crt')}, client-key-data: ${b64('cl.key')}}}]`,
          'contexts: [{name: c, context: {cluster: k, user: u}}]',
          '',
        ].join('\n'),
      );
      const access = await loadApiAccess({ kubeconfig, apiserverHost: '127.0.0.1', apiserverPort: port });
      expect(access).toMatchObject({ server: `https://127.0.0.1:${port}`, tlsServerName: 'kubernetes.default.svc' });
      expect(access.ca).toBe(pem('ca.crt'));
      const list = await listRaw(new ApiClient(access), '/api/v1/services', { labelSelector: 'a' });
      expect(list.metadata.resourceVersion).toBe('7');
      expect(seen).toEqual(['/api/v1/services?labelSelector=a&limit=40 system:node:a']);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('refuses what it cannot hand over, naming the file', async () => {
    const kubeconfig = join(tmp, 'proxied');
    writeFileSync(
      kubeconfig,
      kubeconfigFor('https://10.96.0.1:443').replace(
        '"insecure-skip-tls-verify"',
        '"proxy-url": "http://proxy:3128", "x"',
      ),
    );
    await expect(loadApiAccess({ kubeconfig })).rejects.toThrow(
      new KubeConfigError(`--kubeconfig "${kubeconfig}": proxy-url is not supported`),
    );
  });
});

describe('keep-alive connections the server closed', () => {
  it('a GET sent on a reused connection the server drops unanswered is sent again on a new one', async () => {
    // The first request on each connection is answered with keep-alive; a second one on the
    // same connection is dropped unanswered, as a server that closed it idle meanwhile does.
    let connections = 0;
    const server = createNetServer((sock) => {
      connections++;
      let answered = 0;
      sock.on('data', () => {
        if (answered++ > 0) return void sock.destroy();
        sock.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const client = new ApiClient({ server: url, headers: {} });
      for (let i = 0; i < 3; i++) {
        const res = await client.get('/api/v1/services', {});
        expect(res.statusCode).toBe(200);
        res.resume();
        await new Promise((r) => res.on('end', r));
      }
      expect(connections).toBe(3); // each reused one was dropped, and its request sent again
    } finally {
      server.close();
    }
  });
});
