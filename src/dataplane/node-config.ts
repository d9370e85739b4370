// The config map: node settings (the SNAT address, compiled from NodeConfig into
// DesiredState.config), one ARRAY entry; plan.ts writes it first, when it changes.
import type { Config } from '../abi/index.js';

/** The config entry to write, or undefined when the map already holds it. */
export function planConfig(current: Config | undefined, desired: Config): Config | undefined {
  return current && current.snatAddr === desired.snatAddr ? undefined : desired;
}
