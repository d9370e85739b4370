// The config map: node settings (the SNAT address and the pod range, compiled from NodeConfig into
// DesiredState.config), one ARRAY entry; plan.ts writes it first, when it changes.
import type { Config } from '../abi/index.js';

/** The config entry to write, or undefined when the map already holds it. */
export function planConfig(current: Config | undefined, desired: Config): Config | undefined {
  const same =
    current &&
    current.snatAddr === desired.snatAddr &&
    current.podNet === desired.podNet &&
    current.podMask === desired.podMask;
  return same ? undefined : desired;
}
