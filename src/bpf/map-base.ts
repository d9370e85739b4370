// One BPF map's syscalls through libbpf: single-entry get, set and delete, and the batched
// writes, deletes and reads a sync and the CLI use (with a fallback where batches are missing).
// Its values' encoding is left to the two kinds in map.ts: typed and per-CPU.
import type { Codec } from './codec.js';
import { BatchBuffers } from './batch-buffers.js';
import { BpfError, E2BIG, ENOENT, ENOSPC, ENOTSUPP, EOPNOTSUPP } from './errors.js';
import * as ffi from './ffi.js';
import { ARRAY_TYPES, FILLABLE_TYPES, type MapInfo } from './map-types.js';

const UPDATE_FLAGS = { any: 0, noexist: 1, exist: 2 } as const;
export type UpdateFlag = keyof typeof UPDATE_FLAGS;
const CHUNK = 8192;

const unsupported = (ret: number) => ret === -ENOTSUPP || ret === -EOPNOTSUPP;

/** Shared by TypedMap (values V) and PercpuMap (values V[]): W is what one entry's value is in JS. */
export abstract class MapBase<K, W> {
  readonly name: string;
  readonly fd: number;
  readonly maxEntries: number;
  readonly type: number; // BPF_MAP_TYPE_*
  protected readonly what: string;
  /** Bytes of one value in syscalls (for per-CPU maps: every CPU's copy, each rounded up to 8). */
  protected readonly stride: number;
  private readonly keyBuf: Buffer;
  private readonly keyBuf2: Buffer;
  private readonly valBuf: Buffer;
  private readonly count = Buffer.alloc(4);
  private readonly opts = Buffer.alloc(24);
  private readonly batch: BatchBuffers;
  private closed = false;
  private noBatch = false;

  protected constructor(
    info: MapInfo,
    protected readonly keyCodec: Codec<K>,
    stride: number,
    private readonly ownsFd: boolean,
  ) {
    this.name = info.name;
    this.fd = info.fd;
    this.maxEntries = info.maxEntries;
    this.type = info.type;
    this.what = `map '${info.name}'`;
    this.stride = stride;
    this.keyBuf = Buffer.alloc(keyCodec.size);
    this.keyBuf2 = Buffer.alloc(keyCodec.size);
    this.valBuf = Buffer.alloc(stride);
    this.batch = new BatchBuffers(keyCodec.size, stride);
    this.opts.writeBigUInt64LE(24n, 0);
  }

  protected abstract encodeValue(value: W, buf: Buffer, offset: number): void;
  protected abstract decodeValue(buf: Buffer, offset: number): W;

  private fail(call: string, ret: number, detail = ''): never {
    if ((ret === -E2BIG || ret === -ENOSPC) && FILLABLE_TYPES.has(this.type)) {
      throw new BpfError(
        call,
        this.what,
        ret,
        `${call}(${this.what}): map '${this.name}' is full (max ${this.maxEntries})`,
      );
    }
    const e = new BpfError(call, this.what, ret);
    if (detail) e.message += ` ${detail}`;
    throw e;
  }

  get(key: K): W | undefined {
    this.keyCodec.encode(key, this.keyBuf, 0);
    const ret = ffi.mapLookupElem(this.fd, this.keyBuf, this.valBuf);
    if (ret === -ENOENT) return undefined;
    if (ret < 0) this.fail('bpf_map_lookup_elem', ret);
    return this.decodeValue(this.valBuf, 0);
  }

  set(key: K, value: W, flags: UpdateFlag = 'any'): void {
    this.keyCodec.encode(key, this.keyBuf, 0);
    this.encodeValue(value, this.valBuf, 0);
    this.update(this.valBuf, flags);
  }

  /** bpf_map_update_elem of keyBuf's key with @value. */
  private update(value: Buffer, flags: UpdateFlag): void {
    const ret = ffi.mapUpdateElem(this.fd, this.keyBuf, value, UPDATE_FLAGS[flags]);
    if (ret < 0) this.fail('bpf_map_update_elem', ret);
  }

  /** false when the key was absent. */
  delete(key: K): boolean {
    this.keyCodec.encode(key, this.keyBuf, 0);
    const ret = ffi.mapDeleteElem(this.fd, this.keyBuf);
    if (ret === -ENOENT) return false;
    if (ret < 0) this.fail('bpf_map_delete_elem', ret);
    return true;
  }

  /** Writes every entry with bpf_map_update_batch, in chunks; a full map is a BpfError naming it. */
  setMany(entries: ReadonlyArray<readonly [K, W]>, flags: UpdateFlag = 'any'): void {
    this.setEach(entries.length, (i) => entries[i], flags);
  }

  /** setMany of @total entries made one at a time by @at, which may hand back the same objects
   *  each time: each entry is encoded before the next is asked for. @at is asked in order, and from
   *  0 again where batches turn out to be missing. */
  setEach(total: number, at: (i: number) => readonly [K, W], flags: UpdateFlag = 'any'): void {
    const ks = this.keyCodec.size;
    this.updateBatches(
      total,
      flags,
      (start, n) => {
        for (let i = 0; i < n; i++) {
          const e = at(start + i); // not destructured: that costs per entry, 230,000 at a cold start
          this.keyCodec.encode(e[0], this.batch.keys, i * ks);
          this.encodeValue(e[1], this.batch.vals, i * this.stride);
        }
      },
      (i) => {
        const e = at(i);
        this.set(e[0], e[1], flags);
      },
    );
  }

  /** setEach for a caller that encodes the entries itself: @fill writes entry i's key at
   *  keys[keyOff] and its value at vals[valOff], in the map's own layout. For the few writes big
   *  enough that an object per entry shows (a cold start's 100,000 backends, from columns). */
  setEachEncoded(
    total: number,
    fill: (i: number, keys: Buffer, keyOff: number, vals: Buffer, valOff: number) => void,
    flags: UpdateFlag = 'any',
  ): void {
    const ks = this.keyCodec.size;
    this.updateBatches(
      total,
      flags,
      (start, n) => {
        for (let i = 0; i < n; i++) fill(start + i, this.batch.keys, i * ks, this.batch.vals, i * this.stride);
      },
      (i) => {
        fill(i, this.keyBuf, 0, this.valBuf, 0);
        this.update(this.valBuf, flags);
      },
    );
  }

  /** Writes an all-zero value (every CPU's, for a per-CPU map) at each key: no value is encoded,
   *  which for a per-CPU map of u64 counters is most of the work. */
  zeroMany(keys: readonly K[]): void {
    const ks = this.keyCodec.size;
    const fill = (start: number, n: number) => {
      this.batch.vals.fill(0, 0, n * this.stride);
      for (let i = 0; i < n; i++) this.keyCodec.encode(keys[start + i], this.batch.keys, i * ks);
    };
    this.updateBatches(keys.length, 'any', fill, (i) => {
      this.keyCodec.encode(keys[i], this.keyBuf, 0);
      this.update(this.valBuf.fill(0), 'any');
    });
  }

  /** @total entries in chunks: @fill encodes a chunk into the batch buffers, @one writes entry i
   *  by itself (where batches are missing). */
  private updateBatches(
    total: number,
    flags: UpdateFlag,
    fill: (start: number, n: number) => void,
    one: (i: number) => void,
  ): void {
    this.opts.writeBigUInt64LE(BigInt(UPDATE_FLAGS[flags]), 8);
    for (let start = 0; start < total; start += CHUNK) {
      const n = Math.min(CHUNK, total - start);
      if (this.noBatch) {
        for (let i = start; i < start + n; i++) one(i);
        continue;
      }
      this.batch.room(n, true);
      fill(start, n);
      this.count.writeUInt32LE(n, 0);
      const ret = ffi.mapUpdateBatch(this.fd, this.batch.keys, this.batch.vals, this.count, this.opts);
      if (ret < 0) {
        if (unsupported(ret) && start === 0) {
          this.noBatch = true;
          start -= CHUNK;
          continue;
        }
        this.fail('bpf_map_update_batch', ret, `at entry ${start + this.count.readUInt32LE(0)}`);
      }
    }
    this.batch.shrink();
  }

  /** Deletes the keys with bpf_map_delete_batch; absent keys are skipped and put in @absent (each
   *  costs a call of its own: the kernel stops a batch at one). Returns how many were deleted. */
  deleteMany(keys: readonly K[], absent?: K[]): number {
    this.opts.writeBigUInt64LE(0n, 8);
    let deleted = 0;
    let i = 0;
    while (i < keys.length) {
      if (this.noBatch) {
        if (this.delete(keys[i])) deleted++;
        else absent?.push(keys[i]);
        i++;
        continue;
      }
      const n = Math.min(CHUNK, keys.length - i);
      this.batch.room(n, false);
      const ks = this.keyCodec.size;
      for (let j = 0; j < n; j++) this.keyCodec.encode(keys[i + j], this.batch.keys, j * ks);
      this.count.writeUInt32LE(n, 0);
      const ret = ffi.mapDeleteBatch(this.fd, this.batch.keys, this.count, this.opts);
      const done = ret < 0 ? this.count.readUInt32LE(0) : n;
      deleted += done;
      i += done;
      if (ret === -ENOENT) {
        absent?.push(keys[i]); // keys[i] was absent: skip it, go on with the rest
        i++;
        continue;
      }
      if (ret < 0) {
        if (unsupported(ret)) {
          this.noBatch = true;
          continue;
        }
        this.fail('bpf_map_delete_batch', ret, `at entry ${i}`);
      }
    }
    this.batch.shrink();
    return deleted;
  }

  /** Every entry, read with bpf_map_lookup_batch (get_next_key + lookup where batches are missing). */
  entries(): Array<[K, W]> {
    return this.noBatch ? this.entriesByKey() : this.entriesBatched();
  }

  /** How many entries the map holds: batch lookups without decoding (get_next_key where batches
   *  are missing). A snapshot of a map the data path keeps changing, not an exact count. */
  countEntries(): number {
    if (this.noBatch) return this.entriesByKey().length;
    let n = 0;
    // Decoded entries come back only when batches turned out unsupported on the first call.
    const decoded = this.entriesBatched((got) => {
      n += got;
    }).length;
    return n + decoded;
  }

  /** With @onBatch, hands it each batch's size and decodes nothing (the result is then empty, or
   *  every entry when batches turn out unsupported). */
  private entriesBatched(onBatch?: (got: number) => void): Array<[K, W]> {
    const out: Array<[K, W]> = [];
    const ks = this.keyCodec.size;
    const tokenSize = Math.max(ks, 8);
    let inBatch: Buffer | null = null;
    const outBatch = Buffer.alloc(tokenSize);
    let n = Math.max(64, Math.min(CHUNK, this.maxEntries));
    this.opts.writeBigUInt64LE(0n, 8);
    for (;;) {
      this.batch.room(n, true);
      this.count.writeUInt32LE(n, 0);
      const ret = ffi.mapLookupBatch(
        this.fd,
        inBatch,
        outBatch,
        this.batch.keys,
        this.batch.vals,
        this.count,
        this.opts,
      );
      if (ret < 0 && ret !== -ENOENT) {
        if (ret === -ENOSPC) {
          n *= 2;
          continue;
        } // a hash bucket holds more than n entries
        if (unsupported(ret)) {
          this.noBatch = true;
          return this.entriesByKey();
        }
        this.fail('bpf_map_lookup_batch', ret);
      }
      const got = this.count.readUInt32LE(0);
      onBatch?.(got);
      for (let i = 0; i < (onBatch ? 0 : got); i++) {
        out.push([this.keyCodec.decode(this.batch.keys, i * ks), this.decodeValue(this.batch.vals, i * this.stride)]);
      }
      if (ret === -ENOENT) {
        this.batch.shrink();
        return out;
      }
      inBatch ??= Buffer.alloc(tokenSize);
      outBatch.copy(inBatch);
    }
  }

  private entriesByKey(): Array<[K, W]> {
    const out: Array<[K, W]> = [];
    let prev: Buffer | null = null;
    let cur = this.keyBuf,
      next = this.keyBuf2;
    for (;;) {
      const ret = ffi.mapGetNextKey(this.fd, prev, next);
      if (ret === -ENOENT) return out;
      if (ret < 0) this.fail('bpf_map_get_next_key', ret);
      [cur, next] = [next, cur];
      prev = cur;
      const lr = ffi.mapLookupElem(this.fd, cur, this.valBuf);
      if (lr === -ENOENT) continue; // deleted between the two calls
      if (lr < 0) this.fail('bpf_map_lookup_elem', lr);
      out.push([this.keyCodec.decode(cur, 0), this.decodeValue(this.valBuf, 0)]);
    }
  }

  /** Whether the map holds no entry (one bpf_map_get_next_key; an array map never is). */
  isEmpty(): boolean {
    const ret = ffi.mapGetNextKey(this.fd, null, this.keyBuf);
    if (ret < 0 && ret !== -ENOENT) this.fail('bpf_map_get_next_key', ret);
    return ret === -ENOENT;
  }

  keys(): K[] {
    return this.entries().map(([k]) => k);
  }

  /** Deletes every entry; array maps (whose entries can't be deleted) are zeroed instead. */
  clear(): void {
    const keys = this.keys();
    if (ARRAY_TYPES.has(this.type)) this.zeroMany(keys);
    else this.deleteMany(keys);
  }

  /** Closes the map's fd when this view owns it (openPinnedMap); a no-op for an object's maps. */
  close(): void {
    if (this.ownsFd && !this.closed) ffi.closeFd(this.fd);
    this.closed = true;
  }
}
