// Reads a data path's pinned maps directly: works with the agent stopped, and never writes.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BpfError, isBpffs, monotonicNs, openPinnedMap, openPinnedPercpuMap, silenceLibbpf } from '../bpf/index.js';
import * as layouts from '../abi/layouts.js';
import { MAPS6 } from '../abi/maps6.js';
import type { Codec } from '../bpf/codec.js';
import { SERVICE_TYPE_NAMES } from '../abi/index.js';
import type { MapContents, ServiceIdentity } from './views.js';
import type { DataplaneMaps } from '../dataplane/maps.js';
import { percpuStatsReader } from '../dataplane/stats.js';

const svcIdsOf = (frontends: Array<[unknown, { svcId: number }]>) => [...new Set(frontends.map(([, fe]) => fe.svcId))];

function withMap<M extends { close(): void }, T>(open: () => M, use: (m: M) => T): T {
  const m = open();
  try {
    return use(m);
  } finally {
    m.close();
  }
}

export function readPinnedMaps(pinDir: string): MapContents {
  if (!existsSync(pinDir))
    throw new Error(`pin directory ${pinDir} does not exist (is the agent's --pin-dir elsewhere?)`);
  if (!isBpffs(pinDir)) throw new Error(`pin directory ${pinDir} is not on bpffs`);
  if (!existsSync(join(pinDir, 'frontends')))
    throw new Error(`no Switchyard maps pinned in ${pinDir} (has an agent run with --pin-dir ${pinDir}?)`);
  silenceLibbpf();
  const p = (name: string) => join(pinDir, name);
  try {
    const services = new Map<number, ServiceIdentity>();
    if (existsSync(p('service_info'))) {
      withMap(
        () => openPinnedMap(p('service_info'), layouts.u32, layouts.serviceInfo),
        (m) => {
          for (const [id, info] of m.entries())
            services.set(id, { name: info.name, type: SERVICE_TYPE_NAMES[info.type] ?? 'ClusterIP' });
        },
      );
    }
    // The IPv6 twins, when the data path pinned them (family-map.ts): shown alongside.
    const twin = <K, V>(name: string, key: Codec<K>, value: Codec<V>): Array<[K, V]> =>
      existsSync(p(name))
        ? withMap(
            () => openPinnedMap(p(name), key, value),
            (m) => m.entries(),
          )
        : [];
    const frontends = [
      ...withMap(
        () => openPinnedMap(p('frontends'), layouts.frontendKey, layouts.frontend),
        (m) => m.entries(),
      ),
      ...twin(MAPS6.frontends, layouts.frontend6Key, layouts.frontend),
    ];
    const stats = withMap(
      () => openPinnedPercpuMap(p('stats'), layouts.u32, layouts.stats),
      (m) => percpuStatsReader(m)(svcIdsOf(frontends)),
    );
    return {
      frontends,
      slots: withMap(
        () => openPinnedMap(p('slots'), layouts.slotKey, layouts.u32),
        (m) => m.entries(),
      ),
      // Pins made before the maglev map have none: nothing to read then.
      maglev: existsSync(p('maglev'))
        ? withMap(
            () => openPinnedMap(p('maglev'), layouts.slotKey, layouts.u32),
            (m) => m.entries(),
          )
        : [],
      backends: [
        ...withMap(
          () => openPinnedMap(p('backends'), layouts.u32, layouts.backend),
          (m) => m.entries(),
        ),
        ...twin(MAPS6.backends, layouts.u32, layouts.backend6),
      ],
      conntrack: [
        ...withMap(
          () => openPinnedMap(p('conntrack'), layouts.ctKey, layouts.ctEntry),
          (m) => m.entries(),
        ),
        ...twin('conntrack6', layouts.ct6Key, layouts.ct6Entry),
      ],
      affinity: [
        ...withMap(
          () => openPinnedMap(p('affinity'), layouts.affinityKey, layouts.affinity),
          (m) => m.entries(),
        ),
        ...twin('affinity6', layouts.affinity6Key, layouts.affinity),
      ],
      stats,
      services,
      nowNs: monotonicNs(),
    };
  } catch (err) {
    if (err instanceof BpfError) throw new Error(`reading the maps in ${pinDir}: ${err.message}`);
    throw err;
  }
}

/** The same contents from maps an agent (or a test) already holds open. */
export function mapContents(maps: DataplaneMaps): MapContents {
  const frontends = maps.frontends.entries();
  const stats = percpuStatsReader(maps.stats)(svcIdsOf(frontends));
  const services = new Map<number, ServiceIdentity>(
    maps.serviceInfo
      .entries()
      .map(([id, info]) => [id, { name: info.name, type: SERVICE_TYPE_NAMES[info.type] ?? 'ClusterIP' }]),
  );
  return {
    frontends,
    slots: maps.slots.entries(),
    maglev: maps.maglev.entries(),
    backends: maps.backends.entries(),
    conntrack: maps.conntrack.entries(),
    affinity: maps.affinity.entries(),
    stats,
    services,
    nowNs: monotonicNs(),
  };
}
