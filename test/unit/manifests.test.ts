import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { compile, IdAllocator } from '../../src/compile/index.js';
import { buildModel } from '../../src/model/index.js';
import { ManifestSource, parseManifest } from '../../src/sources/manifests.js';
import type { Snapshot } from '../../src/sources/types.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/manifests/', import.meta.url));
const names = (s: Snapshot) => ({
  services: s.services.map((o) => (o.object.metadata as { name: string }).name),
  endpointSlices: s.endpointSlices.map((o) => (o.object.metadata as { name: string }).name),
  nodes: s.nodes.map((o) => (o.object.metadata as { name: string }).name),
});

const service = (name: string, ip: string) => `apiVersion: v1
kind: Service
metadata: {name: ${name}}
spec:
  clusterIP: ${ip}
  ports: [{port: 80}]
`;

/** Resolves when onChange has fired `n` more times, or rejects after `ms`. */
function changes(): { fn: () => void; next: (ms?: number) => Promise<number> } {
  let count = 0;
  let waiter: (() => void) | undefined;
  return {
    fn: () => {
      count++;
      waiter?.();
    },
    next: (ms = 2500) => {
      const start = count;
      const t0 = Date.now();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no onChange within ${ms} ms`)), ms);
        waiter = () => {
          if (count > start) {
            clearTimeout(timer);
            waiter = undefined;
            resolve(Date.now() - t0);
          }
        };
      });
    },
  };
}

let dir: string | undefined;
let source: ManifestSource | undefined;
afterEach(async () => {
  await source?.stop();
  source = undefined;
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

async function tempDir(files: Record<string, string>): Promise<string> {
  dir = await mkdtemp(join(tmpdir(), 'switchyard-manifests-'));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

describe('parseManifest', () => {
  it('reads multi-document YAML and Lists, ignoring other kinds and empty documents', () => {
    const text = `${service('a', '10.96.0.1')}---
kind: Deployment
metadata: {name: d}
---
kind: List
items:
  - {kind: Node, metadata: {name: n1}}
  - {kind: EndpointSlice, metadata: {name: a-1}}
---
kind: ServiceList
items:
  - {metadata: {name: b}, spec: {clusterIP: 10.96.0.2}}
---
`;
    const p = parseManifest(text, 'x.yaml');
    if ('error' in p) throw new Error(p.error);
    expect(names({ ...p, errors: [] })).toEqual({ services: ['a', 'b'], endpointSlices: ['a-1'], nodes: ['n1'] });
    expect(p.services[1].object.kind).toBe('Service');
    expect(p.services.every((o) => o.origin === 'x.yaml')).toBe(true);
    expect(p.notes).toEqual([]);
  });

  it('notes documents that are not objects or have no kind', () => {
    const p = parseManifest('- 1\n---\nmetadata: {name: x}\n', 'x.yaml');
    if ('error' in p) throw new Error(p.error);
    expect(p.notes.map((n) => n.message)).toEqual([
      'document 1: not a Kubernetes object (a list); ignored',
      'document 2: has no kind; ignored',
    ]);
  });

  it('reports invalid YAML with its line and column', () => {
    expect(parseManifest('kind: Service\nmetadata:\n  name: a\n  name: b\n', 'x.yaml')).toEqual({
      error: 'not valid YAML: line 4, column 3: Map keys must be unique',
    });
    expect(parseManifest('a: b: c\n', 'x.yaml')).toEqual({
      error: 'not valid YAML: line 1, column 4: Nested mappings are not allowed in compact mappings',
    });
  });
});

describe('ManifestSource', () => {
  it('loads the example manifests, which compile to what the seeds describe', async () => {
    source = new ManifestSource({ dir: FIXTURES });
    await source.start(() => {});
    const snap = source.snapshot();
    expect(snap.errors).toEqual([]);
    expect(names(snap)).toEqual({
      services: ['client-svc', 'my-nginx', 'myapp-svc-headless', 'myapp-svc'],
      endpointSlices: ['my-nginx-8x2kq', 'myapp-svc-headless-xyz12', 'myapp-svc-abcde', 'myapp-svc-fghij'],
      nodes: ['node1', 'node2'],
    });
    const { model, errors } = buildModel(snap);
    expect(errors).toEqual([]);
    const d = compile(model, { nodeName: 'node1', nodePortAddresses: ['10.250.0.11'] }, new IdAllocator());
    expect([...d.services.values()].map((s) => `${s.name} ${s.frontends.join(' ')}`)).toEqual([
      'my-nginx 10.96.100.10:80/TCP',
      'myapp-svc 10.99.99.99:80/TCP 10.250.0.11:30080/TCP',
    ]);
    const myapp = d.frontends.find((f) => f.key.addr === '10.99.99.99')!;
    expect(d.sets.get(myapp.setId)!.map((id) => d.backends.get(id)!.addr)).toEqual([
      '10.244.1.11',
      '10.244.1.12',
      '10.244.1.13',
      '10.244.2.11',
    ]); // .2.12 is terminating
    expect(model.triggerTimes).toEqual([new Date('2024-05-01T10:00:00Z')]);
  });

  it('reports a broken file with its path and loads the others', async () => {
    const d = await tempDir({
      'a.yaml': service('a', '10.96.0.1'),
      'b.yml': 'kind: Service\n  bad: [\n',
      'c.json': JSON.stringify({ kind: 'Service', metadata: { name: 'c' } }),
      'notes.txt': 'x',
    });
    source = new ManifestSource({ dir: d });
    await source.start(() => {});
    const snap = source.snapshot();
    expect(names(snap).services).toEqual(['a', 'c']);
    expect(snap.errors).toHaveLength(1);
    expect(snap.errors[0].origin).toBe(join(d, 'b.yml'));
    expect(snap.errors[0].message).toMatch(/^not valid YAML: line \d+, column \d+: \w/);
  });

  it('mirrors v1 Endpoints of a selector-less Service into a slice the model accepts, as Kubernetes does', async () => {
    const ep = (name: string, ip: string) => `apiVersion: v1
kind: Endpoints
metadata: {name: ${name}}
subsets: [{addresses: [{ip: ${ip}}], ports: [{port: 8080}]}]
`;
    const selected =
      'apiVersion: v1\nkind: Service\nmetadata: {name: sel}\nspec: {clusterIP: 10.96.0.3, selector: {app: x}, ports: [{port: 80}]}\n';
    const d = await tempDir({
      'a.yaml': `${service('ext', '10.96.0.2')}---\n${ep('ext', '192.0.2.7')}`,
      'b.yaml': `${selected}---\n${ep('sel', '192.0.2.8')}---\n${ep('orphan', '192.0.2.9')}`,
    });
    source = new ManifestSource({ dir: d });
    await source.start(() => {});
    const snap = source.snapshot();
    // Only ext's: sel has a selector (its slices come from pods) and orphan has no Service.
    expect(names(snap).endpointSlices).toEqual(['ext-mirror-0']);
    expect(snap.endpointSlices[0].origin).toBe(join(d, 'a.yaml'));
    const { model, errors } = buildModel(snap);
    expect(errors).toEqual([]);
    // The Service port matches the Endpoints' unnamed port, as names must match in Kubernetes.
    const [slice] = model.slicesByService.get('default/ext')!;
    expect(slice.endpoints.map((e) => e.address)).toEqual(['192.0.2.7']);
  });

  it('sees an edit within a second and keeps the last good version of a file that stops parsing', async () => {
    const d = await tempDir({ 'a.yaml': service('a', '10.96.0.1') });
    const c = changes();
    source = new ManifestSource({ dir: d });
    await source.start(c.fn);
    const file = join(d, 'a.yaml');

    let wait = c.next();
    await writeFile(file, `${service('a', '10.96.0.1')}---\n${service('b', '10.96.0.2')}`);
    expect(await wait).toBeLessThan(1000);
    expect(names(source.snapshot()).services).toEqual(['a', 'b']);

    wait = c.next();
    await writeFile(file, 'kind: Service\nmetadata: {name: a\n');
    await wait;
    const snap = source.snapshot();
    expect(names(snap).services).toEqual(['a', 'b']);
    expect(snap.errors[0].message).toMatch(/keeping the 2 object\(s\) of its last good version$/);
  });

  it('drops the objects of a deleted file and picks up a renamed-in one', async () => {
    const d = await tempDir({ 'a.yaml': service('a', '10.96.0.1'), 'b.yaml': service('b', '10.96.0.2') });
    const c = changes();
    source = new ManifestSource({ dir: d });
    await source.start(c.fn);

    let wait = c.next();
    await rm(join(d, 'a.yaml'));
    expect(await wait).toBeLessThan(1000);
    expect(names(source.snapshot()).services).toEqual(['b']);

    // An editor's atomic save: write a temp file (not a manifest name), rename over.
    wait = c.next();
    await writeFile(join(d, '.b.yaml.tmp'), service('b2', '10.96.0.3'));
    await rename(join(d, '.b.yaml.tmp'), join(d, 'b.yaml'));
    await wait;
    expect(names(source.snapshot()).services).toEqual(['b2']);
  });

  it('finds changes by polling when no watch event arrives', async () => {
    const d = await tempDir({ 'a.yaml': service('a', '10.96.0.1') });
    const c = changes();
    source = new ManifestSource({ dir: d, pollIntervalMs: 100 });
    await source.start(c.fn);
    // Simulate a silent watcher: stop it, leaving only the poll.
    (source as unknown as { watcher?: { close(): void } }).watcher?.close();
    const wait = c.next();
    await writeFile(join(d, 'z.yaml'), service('z', '10.96.0.26'));
    await wait;
    expect(names(source.snapshot()).services).toEqual(['a', 'z']);
  });

  it('does not call onChange when a file is rewritten unchanged', async () => {
    const d = await tempDir({ 'a.yaml': service('a', '10.96.0.1') });
    let calls = 0;
    source = new ManifestSource({ dir: d, pollIntervalMs: 50 });
    await source.start(() => calls++);
    await writeFile(join(d, 'a.yaml'), service('a', '10.96.0.1'));
    await new Promise((r) => setTimeout(r, 300));
    expect(calls).toBe(0);
  });

  it('refuses to start on a missing directory, and stops cleanly', async () => {
    const missing = new ManifestSource({ dir: join(tmpdir(), 'switchyard-does-not-exist') });
    await expect(missing.start(() => {})).rejects.toThrow(/cannot read directory .*switchyard-does-not-exist: ENOENT/);
    await missing.stop();
  });
});
