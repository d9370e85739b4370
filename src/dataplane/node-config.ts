// The config maps: node settings (the SNAT address and the pod range, compiled from NodeConfig into
// DesiredState.config and config6), one ARRAY entry each; plan.ts writes config first, the
// reconciler config6 before the phases, each only when it changes.
import type { Config, Config6 } from '../abi/index.js';

/** The config entry to write, or undefined when the map already holds it. */
export function planConfig(current: Config | undefined, desired: Config): Config | undefined {
  const same =
    current &&
    current.snatAddr === desired.snatAddr &&
    current.podNet === desired.podNet &&
    current.podMask === desired.podMask;
  return same ? undefined : desired;
}

/** The config6 entry to write, or undefined when the map already holds it. */
export function planConfig6(current: Config6 | undefined, desired: Config6): Config6 | undefined {
  const same =
    current &&
    current.snatAddr === desired.snatAddr &&
    current.hairpinAddr === desired.hairpinAddr &&
    current.podNet === desired.podNet &&
    current.podMask === desired.podMask;
  return same ? undefined : desired;
}
