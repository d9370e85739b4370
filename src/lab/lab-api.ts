// The lab's client of its API server, over the admin unix socket (see src/fakeapi/main.ts): plain
// Kubernetes REST paths, so what the lab writes is exactly what the agents' informers read.
import { request } from 'node:http';
import type { KubeObject } from '../fakeapi/server.js';
import { KINDS, apiPath, isApiKind, type ApiKind } from '../model/kinds.js';
import { LabError } from './lab-state.js';

export class LabApi {
  constructor(
    private readonly socket: string,
    private readonly token: string,
  ) {}

  private call(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
    const text = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          socketPath: this.socket,
          // A fresh connection per call, never a pooled keep-alive one: on a busy machine `lab up`
          // failed with EPIPE on the first call after its pods started (each time, over ~30 s of
          // synchronous pod start-up), and never with this. A unix socket connect costs ~nothing.
          agent: false,
          method,
          path,
          timeout: 5000,
          headers: {
            authorization: `Bearer ${this.token}`,
            ...(text ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) } : {}),
          },
        },
        (res) => {
          let data = '';
          res.setEncoding('utf8');
          res.on('data', (c) => (data += c));
          res.on('end', () => {
            let json: unknown;
            try {
              json = data ? JSON.parse(data) : undefined;
            } catch {
              json = data;
            }
            resolve({ status: res.statusCode ?? 0, json });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (err) =>
        reject(
          new LabError(`lab API server (${this.socket}): ${err.message}; is the lab up? (\`switchyard lab status\`)`),
        ),
      );
      req.end(text);
    });
  }

  private static fail(what: string, r: { status: number; json: unknown }): never {
    const message = (r.json as { message?: string } | undefined)?.message ?? JSON.stringify(r.json);
    throw new LabError(`${what}: HTTP ${r.status}: ${message}`);
  }

  async healthy(): Promise<boolean> {
    try {
      return (await this.call('GET', '/healthz')).status === 200;
    } catch {
      return false;
    }
  }

  async list(kind: ApiKind): Promise<KubeObject[]> {
    const r = await this.call('GET', apiPath(kind));
    if (r.status !== 200) LabApi.fail(`list ${KINDS[kind].plural}`, r);
    const { items, apiVersion } = r.json as { items: KubeObject[]; apiVersion: string };
    return items.map((o) => ({ ...o, kind, apiVersion }));
  }

  async get(kind: ApiKind, namespace: string | undefined, name: string): Promise<KubeObject | undefined> {
    const r = await this.call('GET', apiPath(kind, namespace, name));
    if (r.status === 404) return undefined;
    if (r.status !== 200) LabApi.fail(`get ${kind} ${name}`, r);
    return r.json as KubeObject;
  }

  /** Creates or replaces (PUT, as `kubectl apply` ends up doing). */
  async apply(obj: KubeObject): Promise<KubeObject> {
    if (!isApiKind(obj.kind)) throw new LabError(`the lab API server has no kind ${obj.kind}`);
    const ns = KINDS[obj.kind].namespaced ? obj.metadata.namespace || 'default' : undefined;
    const r = await this.call('PUT', apiPath(obj.kind, ns, obj.metadata.name), obj);
    if (r.status !== 200 && r.status !== 201) LabApi.fail(`apply ${obj.kind} ${obj.metadata.name}`, r);
    return r.json as KubeObject;
  }

  /** False when there was nothing to delete. */
  async delete(kind: ApiKind, namespace: string | undefined, name: string): Promise<boolean> {
    const r = await this.call('DELETE', apiPath(kind, namespace, name));
    if (r.status === 404) return false;
    if (r.status !== 200) LabApi.fail(`delete ${kind} ${name}`, r);
    return true;
  }
}
