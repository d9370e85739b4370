// The standalone source: a directory of manifests (*.yaml, *.yml, *.json; not recursive), watched
// for edits, renames and deletes. Files may hold many documents and `kind: List`s; Services,
// EndpointSlices and Nodes are taken, v1 Endpoints are mirrored into EndpointSlices as Kubernetes
// does for Services without a selector (model/mirror.ts); other kinds (Deployments kept
// alongside) are ignored silently. Objects are handed on raw: validation is the model's job.
//
// A file that stops parsing keeps the objects of its last good version (and says so in the
// snapshot errors): like a failed `kubectl apply`, a typo mid-edit must not tear down the
// Services the file describes. Deleting the file removes them.
//
// Change detection: fs.watch on the directory (re-reads the named file, debounced) plus a poll
// that compares size/mtime/inode every pollIntervalMs, for filesystems where fs.watch is silent
// (network mounts, some containers) and for atomic-rename saves the watcher may miss.
import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { mirrorEndpoints } from '../model/mirror.js';
import { type ManifestObjects, objectCount, parseManifest } from './manifest-parse.js';
import type { Snapshot, Source, SourceError, SourcedObject } from './types.js';

export interface ManifestSourceOptions {
  dir: string;
  logger?: Logger;
  /** Poll period for the stat comparison (default 1000 ms). */
  pollIntervalMs?: number;
  /** Quiet time after a watch event before re-reading (default 50 ms). */
  debounceMs?: number;
}

interface FileState {
  size: number;
  mtimeMs: number;
  ino: number;
  /** sha256 of the text last read: a touched file with the same bytes is not parsed again, and
   *  no file's text is kept once parsed. */
  digest: string;
  /** The last version that parsed (kept when a later one does not). */
  good?: ManifestObjects;
  /** Set while the current text does not parse. */
  error?: SourceError;
}

const MANIFEST = /\.(ya?ml|json)$/i;

export class ManifestSource implements Source {
  readonly name = 'manifests';
  private readonly files = new Map<string, FileState>();
  private dirError: SourceError | undefined;
  private current: Snapshot = { services: [], endpointSlices: [], nodes: [], errors: [] };
  private onChange: (() => void) | undefined;
  private watcher: FSWatcher | undefined;
  private poller: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private pendingForce = new Set<string>();
  private pendingAll = false;
  private scanning: Promise<void> | undefined;
  private rescan = false;
  private stopped = false;

  constructor(private readonly opts: ManifestSourceOptions) {}

  async start(onChange: () => void): Promise<void> {
    this.stopped = false;
    const dirStat = await stat(this.opts.dir).catch((err: NodeJS.ErrnoException) => {
      throw new Error(`manifests: cannot read directory ${this.opts.dir}: ${err.code ?? err.message}`);
    });
    if (!dirStat.isDirectory()) throw new Error(`manifests: ${this.opts.dir} is not a directory`);
    await this.scan(new Set(), true);
    this.onChange = onChange;
    try {
      this.watcher = watch(this.opts.dir, { persistent: false }, (_event, filename) =>
        this.touched(filename?.toString()),
      );
      this.watcher.on('error', (err) => {
        this.opts.logger?.warn({ err, dir: this.opts.dir }, 'manifest directory watch failed; polling only');
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch (err) {
      this.opts.logger?.warn({ err, dir: this.opts.dir }, 'cannot watch the manifest directory; polling only');
    }
    this.poller = setInterval(() => void this.run(new Set(), false), this.opts.pollIntervalMs ?? 1000);
    this.poller.unref();
    this.opts.logger?.info({ dir: this.opts.dir, files: this.files.size, ...this.counts() }, 'manifests loaded');
  }

  snapshot(): Snapshot {
    return this.current;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.onChange = undefined;
    this.watcher?.close();
    this.watcher = undefined;
    clearInterval(this.poller);
    clearTimeout(this.debounce);
    await this.scanning;
  }

  /** A watch event: re-read that file (or everything, when the OS does not name it) soon. */
  private touched(filename: string | undefined): void {
    if (this.stopped) return;
    if (filename) this.pendingForce.add(filename);
    else this.pendingAll = true;
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => {
      const force = this.pendingForce,
        all = this.pendingAll;
      this.pendingForce = new Set();
      this.pendingAll = false;
      void this.run(force, all);
    }, this.opts.debounceMs ?? 50);
  }

  /** One scan at a time; a request during a scan becomes one forced full rescan after it. */
  private async run(force: Set<string>, all: boolean): Promise<void> {
    if (this.scanning) {
      this.rescan = true;
      return this.scanning;
    }
    this.scanning = (async () => {
      let changed = false;
      try {
        changed = await this.scan(force, all);
        while (this.rescan && !this.stopped) {
          this.rescan = false;
          changed = (await this.scan(new Set(), true)) || changed;
        }
      } catch (err) {
        this.opts.logger?.error({ err }, 'manifest scan failed');
      } finally {
        this.scanning = undefined;
      }
      if (changed && !this.stopped) {
        this.opts.logger?.debug({ dir: this.opts.dir, ...this.counts() }, 'manifests changed');
        this.onChange?.();
      }
    })();
    return this.scanning;
  }

  /** Brings the cache up to date; true if the snapshot changed. */
  private async scan(force: Set<string>, all: boolean): Promise<boolean> {
    let names: string[];
    try {
      names = (await readdir(this.opts.dir)).filter((n) => MANIFEST.test(n) && !n.startsWith('.')).sort();
      if (this.dirError) {
        this.dirError = undefined;
        this.rebuild();
        return true;
      }
    } catch (err) {
      // The directory went away or became unreadable: keep what we have, say why.
      const message = `cannot read the manifest directory: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; keeping the last objects read`;
      if (this.dirError?.message === message) return false;
      this.dirError = { origin: this.opts.dir, message };
      this.rebuild();
      return true;
    }

    let changed = false;
    const present = new Set<string>();
    for (const name of names) {
      const path = join(this.opts.dir, name);
      const st = await stat(path).catch(() => undefined); // follows symlinks (ConfigMap mounts)
      if (!st?.isFile()) continue;
      present.add(path);
      const have = this.files.get(path);
      const same = have && have.size === st.size && have.mtimeMs === st.mtimeMs && have.ino === st.ino;
      if (same && !all && !force.has(name)) continue;
      const text = await readFile(path, 'utf8').catch(() => undefined);
      if (text === undefined) {
        present.delete(path);
        continue;
      } // vanished between stat and read
      const digest = createHash('sha256').update(text).digest('base64');
      if (have && have.digest === digest) {
        Object.assign(have, { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino });
        continue;
      }
      const parsed = parseManifest(text, path);
      const next: FileState = { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, digest };
      if ('error' in parsed) {
        next.good = have?.good;
        const kept = next.good ? objectCount(next.good) : 0;
        next.error = {
          origin: path,
          message: kept > 0 ? `${parsed.error}; keeping the ${kept} object(s) of its last good version` : parsed.error,
        };
      } else {
        next.good = parsed;
      }
      this.files.set(path, next);
      changed = true;
    }
    for (const path of [...this.files.keys()]) {
      if (!present.has(path)) {
        this.files.delete(path);
        changed = true;
      }
    }
    if (changed) this.rebuild();
    return changed;
  }

  private rebuild(): void {
    const snap: Snapshot = { services: [], endpointSlices: [], nodes: [], errors: [] };
    const endpoints: SourcedObject[] = [];
    if (this.dirError) snap.errors.push(this.dirError);
    for (const path of [...this.files.keys()].sort()) {
      const f = this.files.get(path)!;
      if (f.error) snap.errors.push(f.error);
      if (!f.good) continue;
      snap.services.push(...f.good.services);
      snap.endpointSlices.push(...f.good.endpointSlices);
      snap.nodes.push(...f.good.nodes);
      snap.errors.push(...f.good.notes);
      endpoints.push(...f.good.endpoints);
    }
    snap.endpointSlices.push(...mirrored(endpoints, snap.services));
    this.current = snap;
  }

  private counts() {
    const s = this.current;
    return {
      services: s.services.length,
      endpointSlices: s.endpointSlices.length,
      nodes: s.nodes.length,
      errors: s.errors.length,
    };
  }
}

/** The slices Kubernetes' mirroring controller would make of these Endpoints (skips are silent,
 *  as there), each tagged with its Endpoints' file. Endpoints without a name are left out: the
 *  model, which rejects nameless objects, never sees Endpoints. */
function mirrored(endpoints: SourcedObject[], services: SourcedObject[]): SourcedObject[] {
  type Named = { metadata: { name: string; namespace?: string } };
  const named = (o: SourcedObject) => typeof (o.object.metadata as { name?: unknown } | undefined)?.name === 'string';
  const svcs = services.filter(named).map((s) => s.object as unknown as Named);
  return endpoints.filter(named).flatMap((e) =>
    mirrorEndpoints([e.object as unknown as Named], svcs).slices.map((slice) => ({
      object: slice as Record<string, unknown>,
      origin: e.origin,
    })),
  );
}

export { parseManifest } from './manifest-parse.js';
