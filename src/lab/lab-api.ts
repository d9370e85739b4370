// The lab's client of its API server, over the admin unix socket (see apiserver-main.ts): plain
// Kubernetes REST paths, so what the lab writes is exactly what the agents' informers read.
import { request } from 'node:http';
import type { KubeObject } from './apiserver.js';
import { LabError } from './lab-state.js';

export type LabKind = 'Service' | 'EndpointSlice' | 'Node';

const PATHS: Record<LabKind, { prefix: string; plural: string; namespaced: boolean }> = {
  Service: { prefix: '/api/v1', plural: 'services', namespaced: true },
  EndpointSlice: { prefix: '/apis/discovery.k8s.io/v1', plural: 'endpointslices', namespaced: true },
  Node: { prefix: '/api/v1', plural: 'nodes', namespaced: false },
};

export function isLabKind(kind: unknown): kind is LabKind {
  return typeof kind === 'string' && Object.prototype.hasOwnProperty.call(PATHS, kind);
}

function pathOf(kind: LabKind, namespace?: string, name?: string): string {
  const p = PATHS[kind];
  const ns = p.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${p.prefix}${ns}/${p.plural}${name ? `/${encodeURIComponent(name)}` : ''}`;
}

export class LabApi {
  constructor(private readonly socket: string, private readonly token: string) {}

  private call(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
    const text = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request({
        socketPath: this.socket, method, path, timeout: 5000,
        headers: {
          authorization: `Bearer ${this.token}`,
          ...(text ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) } : {}),
        },
      }, (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (data += c));
        res.on('end', () => {
          let json: unknown;
          try { json = data ? JSON.parse(data) : undefined; } catch { json = data; }
          resolve({ status: res.statusCode ?? 0, json });
        });
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (err) => reject(new LabError(`lab API server (${this.socket}): ${err.message}; is the lab up? (\`switchyard lab status\`)`)));
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

  async list(kind: LabKind): Promise<KubeObject[]> {
    const r = await this.call('GET', pathOf(kind));
    if (r.status !== 200) LabApi.fail(`list ${PATHS[kind].plural}`, r);
    const { items, apiVersion } = r.json as { items: KubeObject[]; apiVersion: string };
    return items.map((o) => ({ ...o, kind, apiVersion }));
  }

  async get(kind: LabKind, namespace: string | undefined, name: string): Promise<KubeObject | undefined> {
    const r = await this.call('GET', pathOf(kind, namespace, name));
    if (r.status === 404) return undefined;
    if (r.status !== 200) LabApi.fail(`get ${kind} ${name}`, r);
    return r.json as KubeObject;
  }

  /** Creates or replaces (PUT, as `kubectl apply` ends up doing). */
  async apply(obj: KubeObject): Promise<KubeObject> {
    if (!isLabKind(obj.kind)) throw new LabError(`the lab API server has no kind ${obj.kind}`);
    const ns = PATHS[obj.kind].namespaced ? (obj.metadata.namespace || 'default') : undefined;
    const r = await this.call('PUT', pathOf(obj.kind, ns, obj.metadata.name), obj);
    if (r.status !== 200 && r.status !== 201) LabApi.fail(`apply ${obj.kind} ${obj.metadata.name}`, r);
    return r.json as KubeObject;
  }

  /** False when there was nothing to delete. */
  async delete(kind: LabKind, namespace: string | undefined, name: string): Promise<boolean> {
    const r = await this.call('DELETE', pathOf(kind, namespace, name));
    if (r.status === 404) return false;
    if (r.status !== 200) LabApi.fail(`delete ${kind} ${name}`, r);
    return true;
  }
}
