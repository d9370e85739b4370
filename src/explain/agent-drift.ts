// Drift against the agent: what the running agent wants (its admin endpoint's last applied
// desired state) against what the maps hold, one line per difference. Pure, like explain.ts.
// The two are read one after the other, so a sync landing in between shows as drift that a
// second run no longer shows; a difference that stays is real.
import { SCOPE_EXTERNAL } from '../abi/index.js';
import type { WantedServicePort } from '../inspect/admin.js';
import type { MapContents } from '../inspect/views.js';
import { explain, matches } from './explain.js';

const PROTO: Record<number, string> = { 6: 'TCP', 17: 'UDP' };

type MapFrontend = MapContents['frontends'][number];
const feName = (address: string, protocol: string, scope: string) => `frontend ${address}/${protocol} (${scope})`;
const keyOf = ([k]: MapFrontend) =>
  `${k.addr}:${k.port}/${PROTO[k.proto] ?? k.proto}/${k.scope === SCOPE_EXTERNAL ? 'external' : 'internal'}`;

/** Every difference for the service ports matching `query`, each line naming its service port. */
export function agentDrift(wants: WantedServicePort[], m: MapContents, query: string): string[] {
  // :PORT by number matches a named port too, as in explain.
  const portQuery = Number(/:(\d+)$/.exec(query)?.[1] ?? Number.NaN);
  const base = query.replace(/:\d+$/, '');
  const wanted = wants.filter(
    (w) => matches(w.servicePort, query) || (w.port === portQuery && matches(w.servicePort, base)),
  );
  const out: string[] = [];
  for (const w of wanted) out.push(...portDrift(w, m).map((d) => `${w.servicePort}: ${d}`));
  const wantedIds = new Set(wants.map((w) => w.svcId));
  const inMaps = new Set(explain(m, query).map((e) => e.svcId));
  for (const [id, info] of m.services) {
    if (!inMaps.has(id) || wantedIds.has(id)) continue;
    const fes = m.frontends.filter(([, fe]) => fe.svcId === id).length;
    out.push(`${info.name}: in the maps (svc ${id}, ${fes} frontend(s)), the agent does not want it`);
  }
  return out;
}

function portDrift(w: WantedServicePort, m: MapContents): string[] {
  if (w.notProgrammed) return [`the agent wants it but left it out of the maps: ${w.notProgrammed}`];
  const byKey = new Map(m.frontends.map((f) => [keyOf(f), f]));
  const out: string[] = [];
  const wantedKeys = new Set<string>();
  for (const f of w.frontends) {
    const key = `${f.address}/${f.protocol}/${f.scope}`;
    wantedKeys.add(key);
    const have = byKey.get(key);
    const name = feName(f.address, f.protocol, f.scope);
    if (!have) out.push(`${name} is missing: the agent wants it (svc ${w.svcId}, set ${f.setId})`);
    else if (have[1].svcId !== w.svcId)
      out.push(`${name} belongs to svc ${have[1].svcId} in the maps, the agent wants svc ${w.svcId}`);
    else if (have[1].setId !== f.setId)
      out.push(`${name} points at set ${have[1].setId}, the agent wants set ${f.setId}`);
  }
  for (const f of m.frontends) {
    if (f[1].svcId !== w.svcId || wantedKeys.has(keyOf(f))) continue;
    const [k] = f;
    const scope = k.scope === SCOPE_EXTERNAL ? 'external' : 'internal';
    out.push(
      `${feName(`${k.addr}:${k.port}`, PROTO[k.proto] ?? String(k.proto), scope)} is extra: the agent does not want it`,
    );
  }
  for (const [set, members] of Object.entries(w.sets)) out.push(...setDrift(Number(set), members, w, m));
  return out.concat(backendDrift(w, m));
}

/** The slots of one set under the generation its frontends read, against the members wanted. */
function setDrift(setId: number, members: number[], w: WantedServicePort, m: MapContents): string[] {
  const fe = m.frontends.find(([, f]) => f.svcId === w.svcId && f.setId === setId)?.[1];
  if (!fe) return []; // no frontend reads it: the frontend lines say so
  if (w.maglev) {
    // A Maglev table's members are its distinct entries; which slot holds which is the table's.
    const have = new Set((m.maglev ?? []).filter(([k]) => k.setId === setId && k.gen === fe.gen).map(([, id]) => id));
    return members
      .filter((id) => !have.has(id))
      .map((id) => `Maglev set ${setId} gen ${fe.gen} lacks backend ${id} ${w.backends[id] ?? ''}: the agent wants it`);
  }
  const out: string[] = [];
  if (fe.count !== members.length)
    out.push(`set ${setId} gen ${fe.gen} counts ${fe.count} member(s), the agent wants ${members.length}`);
  const slots = new Map(m.slots.filter(([k]) => k.setId === setId && k.gen === fe.gen).map(([k, id]) => [k.slot, id]));
  members.forEach((id, i) => {
    const have = slots.get(i + 1);
    const want = `backend ${id} ${w.backends[id] ?? ''}`.trimEnd();
    if (have === undefined)
      out.push(`set ${setId} gen ${fe.gen} slot ${i + 1}: the agent wants ${want} there, the slot map lacks it`);
    else if (have !== id)
      out.push(`set ${setId} gen ${fe.gen} slot ${i + 1} holds backend ${have}, the agent wants ${want}`);
  });
  for (const [slot, id] of slots)
    if (slot > members.length)
      out.push(
        `set ${setId} gen ${fe.gen} slot ${slot} holds backend ${id}, the agent wants ${members.length} member(s)`,
      );
  return out;
}

function backendDrift(w: WantedServicePort, m: MapContents): string[] {
  const have = new Map(m.backends);
  const out: string[] = [];
  for (const [id, address] of Object.entries(w.backends)) {
    const be = have.get(Number(id));
    if (!be) out.push(`backend ${id} ${address} is missing from the backends map: the agent wants it`);
    else if (`${be.addr}:${be.port}` !== address)
      out.push(`backend ${id} is ${be.addr}:${be.port} in the maps, the agent wants ${address}`);
  }
  return out;
}
