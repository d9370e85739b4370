// The key and value buffers a map's batch syscalls read and fill: grown to the largest batch
// asked for, and dropped again after one that grew them past KEEP_BYTES. A full sync or a read of
// a whole map batches up to 8,192 entries a call, which left ~2.5 MiB of buffers across the
// agent's maps at 10,000 Services for its whole life (bench/scale.mjs, arrayBuffers), while a
// partial sync writes a few dozen entries.
const KEEP_BYTES = 64 * 1024;
const EMPTY = Buffer.alloc(0);

export class BatchBuffers {
  keys = EMPTY;
  vals = EMPTY;

  constructor(
    private readonly keySize: number,
    private readonly valueSize: number,
  ) {}

  /** Room for @n keys (and values, @withValues). */
  room(n: number, withValues: boolean): void {
    if (this.keys.length < n * this.keySize) this.keys = Buffer.alloc(n * this.keySize);
    if (withValues && this.vals.length < n * this.valueSize) this.vals = Buffer.alloc(n * this.valueSize);
  }

  /** After a batched operation: lets go of buffers larger than a partial sync needs. */
  shrink(): void {
    if (this.keys.length + this.vals.length > KEEP_BYTES) this.keys = this.vals = EMPTY;
  }
}
