// The lab's EndpointSlice controllers: the slices of every Service with a selector are recomputed
// from the pods (lab-objects.ts: desiredSlices, pure), and the hand-written Endpoints of Services
// without one are mirrored (model/mirror.ts, as Kubernetes' EndpointSliceMirroring controller
// does). Only slices that changed are written, so an agent sees a change exactly when there is one.
import { isMirroredSlice, mirrorEndpoints } from '../../model/mirror.js';
import type { KubeObject } from '../../fakeapi/server.js';
import { desiredSlices, isManagedSlice, sliceContent, stampTrigger } from '../lab-objects.js';
import type { Lab } from '../lab.js';
import { familySlices } from '../dualstack-objects.js';

/** Writes the slices that changed, deletes orphans. Returns the time of the change (for
 *  waitAgentsSynced) or undefined when nothing changed. */
export async function syncSlices(lab: Lab): Promise<number | undefined> {
  const [services, slices, endpoints] = await Promise.all([
    lab.api.list('Service'),
    lab.api.list('EndpointSlice'),
    lab.api.list('Endpoints'),
  ]);
  const mirrored = mirrorEndpoints(endpoints, services);
  for (const t of mirrored.truncated) {
    lab.say(`endpoints/${t.name}: subset ${t.subset} has more than 1000 addresses; ${t.dropped} not mirrored`);
  }
  const zones = Object.fromEntries(lab.st.nodes.filter((n) => n.zone).map((n) => [n.name, n.zone!]));
  const selected = familySlices(desiredSlices(services, Object.values(lab.st.pods), zones), services);
  const desired = [...selected, ...(mirrored.slices as KubeObject[])];
  const at = Date.now();
  let changed = false;
  for (const s of desired) {
    const have = slices.find(
      (x) => x.metadata.name === s.metadata.name && x.metadata.namespace === s.metadata.namespace,
    );
    if (have && sliceContent(have) === sliceContent(s)) continue;
    await lab.api.apply(stampTrigger(s, new Date(at)));
    changed = true;
  }
  for (const s of slices) {
    if (!(isManagedSlice(s) || isMirroredSlice(s))) continue;
    if (desired.some((d) => d.metadata.name === s.metadata.name && d.metadata.namespace === s.metadata.namespace))
      continue;
    await lab.api.delete('EndpointSlice', s.metadata.namespace, s.metadata.name);
    changed = true;
  }
  return changed ? at : undefined;
}
