// The config map: node settings (the SNAT address), one ARRAY entry written when it changes.
import type { Config } from '../abi/index.js';
import type { TypedMap } from '../bpf/index.js';

/** The config entry to write, or undefined when the map already holds it. */
export function planConfig(current: Config | undefined, desired: Config): Config | undefined {
  return current && current.snatAddr === desired.snatAddr ? undefined : desired;
}

/** config[0]. `snatAddress` undefined: 0.0.0.0, the data path then uses the frontend address. */
export function configFor(node: { snatAddress?: string }): Config {
  return { snatAddr: node.snatAddress ?? '0.0.0.0' };
}

/** Writes config[0] when it changes; reads the map back first (it survives agent restarts). */
export class ConfigWriter {
  private current: Config | undefined;

  constructor(private readonly map: TypedMap<number, Config>) {
    this.current = map.get(0);
  }

  /** true when it wrote. */
  apply(desired: Config): boolean {
    const write = planConfig(this.current, desired);
    if (!write) return false;
    this.map.set(0, write);
    this.current = write;
    return true;
  }
}
