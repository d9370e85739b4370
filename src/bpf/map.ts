// The maps the agent and the CLI hold: TypedMap (one value per key) and PercpuMap (one per
// possible CPU), each the syscalls of map-base.ts with its values' encoding.
import type { Codec } from './codec.js';
import { BpfError, EINVAL } from './errors.js';
import { MapBase } from './map-base.js';
import { possibleCpus, type MapInfo } from './map-types.js';

export type { UpdateFlag } from './map-base.js';
export { MAP_TYPE, isPercpuType, possibleCpus, type MapInfo } from './map-types.js';

export class TypedMap<K, V> extends MapBase<K, V> {
  /** Use BpfObject.map() or openPinnedMap(); the sizes are checked there. */
  constructor(
    info: MapInfo,
    key: Codec<K>,
    private readonly valueCodec: Codec<V>,
    ownsFd = false,
  ) {
    super(info, key, info.valueSize, ownsFd);
  }
  protected encodeValue(value: V, buf: Buffer, offset: number): void {
    this.valueCodec.encode(value, buf, offset);
  }
  protected decodeValue(buf: Buffer, offset: number): V {
    return this.valueCodec.decode(buf, offset);
  }
}

/** A per-CPU map: every value is an array with one element per possible CPU. */
export class PercpuMap<K, V> extends MapBase<K, V[]> {
  readonly cpus: number;
  private readonly slot: number;
  constructor(
    info: MapInfo,
    key: Codec<K>,
    private readonly valueCodec: Codec<V>,
    ownsFd = false,
  ) {
    const slot = Math.ceil(info.valueSize / 8) * 8;
    super(info, key, slot * possibleCpus(), ownsFd);
    this.cpus = possibleCpus();
    this.slot = slot;
  }
  protected encodeValue(values: V[], buf: Buffer, offset: number): void {
    if (!Array.isArray(values) || values.length !== this.cpus) {
      throw new BpfError(
        'encode',
        this.what,
        EINVAL,
        `${this.what}: a per-CPU value needs ${this.cpus} elements (one per possible CPU), got ${Array.isArray(values) ? values.length : typeof values}`,
      );
    }
    if (this.slot !== this.valueCodec.size) buf.fill(0, offset, offset + this.stride); // the gaps to 8
    for (let i = 0; i < this.cpus; i++) this.valueCodec.encode(values[i], buf, offset + i * this.slot);
  }
  protected decodeValue(buf: Buffer, offset: number): V[] {
    const out: V[] = new Array(this.cpus);
    for (let i = 0; i < this.cpus; i++) out[i] = this.valueCodec.decode(buf, offset + i * this.slot);
    return out;
  }
}

export { checkSizes, openPinnedMap, openPinnedPercpuMap, pinnedMapSizes } from './map-pinned.js';
