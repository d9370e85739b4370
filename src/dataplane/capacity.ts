// Admission against map capacity: a full map fails one service port, not the sync. Before a plan
// runs, every service port the sync would add to the maps is costed (the frontends, backends and
// slots it needs that the maps do not hold yet). The writes of a sync land before its deletes (the
// hitless order), so the peak is what the maps hold now plus every admitted addition. Ports already
// programmed are admitted first; new ones follow in svc id order while they fit, and the rest are
// skipped, reported by name with the map that has no room, and left out of this sync's plan. A
// skipped port is tried again on the next sync of its Service and on every full sync.
import type { CompileScope, DesiredFrontend, DesiredState } from '../compile/index.js';
import { desiredKeyString } from '../compile/index.js';
import { serviceInfoName, type CurrentState } from './plan.js';

/** max_entries of the maps a service port adds to. */
export interface Capacity {
  frontends: number;
  backends: number;
  slots: number;
}

export interface Overflow {
  svcId: number;
  /** "default/web:http/TCP" */
  servicePort: string;
  map: keyof Capacity;
  message: string;
}

type Cost = Capacity;

const sameMembers = (a: number[], b: number[]) => a.length === b.length && a.every((id, i) => id === b[i]);

/** What adding service port @svcId as desired costs each map, beyond what the maps hold now. */
function cost(current: CurrentState, desired: DesiredState, svcId: number, frontends: DesiredFrontend[]): Cost {
  const info = desired.services.get(svcId);
  const c: Cost = { frontends: 0, backends: 0, slots: 0 };
  if (!info) return c;
  for (const fe of frontends) if (!current.frontends.has(desiredKeyString(fe))) c.frontends++;
  const backends = new Set<number>();
  for (const setId of Object.values(info.sets)) {
    if (setId === undefined) continue;
    const members = desired.sets.get(setId) ?? [];
    const have = current.sets.get(setId);
    if (!have || !sameMembers(have.members, members)) c.slots += members.length;
    for (const b of members) if (!current.backends.has(b)) backends.add(b);
  }
  c.backends = backends.size;
  return c;
}

/**
 * Decides which service ports of @svcIds (with their desired frontends) fit; returns the skipped
 * ones. Ports present in current.serviceInfo are programmed and always admitted.
 */
export function admit(
  current: CurrentState,
  desired: DesiredState,
  ports: Map<number, DesiredFrontend[]>,
  capacity: Capacity,
): Overflow[] {
  const used = inUse(current);
  let frontends = 0;
  for (const fes of ports.values()) frontends += fes.length;
  if (fitsWhole(used, desired, ports.keys(), frontends, capacity)) return [];
  const fresh: number[] = [];
  for (const [svcId, fes] of ports) {
    if (!current.serviceInfo.has(svcId)) {
      fresh.push(svcId);
      continue;
    }
    const c = cost(current, desired, svcId, fes);
    for (const m of ['frontends', 'backends', 'slots'] as const) used[m] += c[m];
  }
  const skipped: Overflow[] = [];
  for (const svcId of fresh.sort((a, b) => a - b)) {
    const c = cost(current, desired, svcId, ports.get(svcId)!);
    const full = (['frontends', 'backends', 'slots'] as const).find((m) => used[m] + c[m] > capacity[m]);
    if (full === undefined) {
      for (const m of ['frontends', 'backends', 'slots'] as const) used[m] += c[m];
      continue;
    }
    const servicePort = serviceInfoName(desired.services.get(svcId)!);
    skipped.push({
      svcId,
      servicePort,
      map: full,
      message:
        `service port ${servicePort} not programmed: map '${full}' is full ` +
        `(max ${capacity[full]} entries, ${used[full]} in use or planned, this port needs ${c[full]})`,
    });
  }
  return skipped;
}

/** admit() of every service port of @desired (a full sync). Its frontends are grouped by port
 *  only when not all of them fit (a cold start's 10,000 ports mostly do). */
export function admitAll(current: CurrentState, desired: DesiredState, capacity: Capacity): Overflow[] {
  let frontends = 0;
  for (const fe of desired.frontends) if (desired.services.has(fe.svcId)) frontends++;
  if (fitsWhole(inUse(current), desired, desired.services.keys(), frontends, capacity)) return [];
  return admit(current, desired, portsOf(desired.frontends, desired.services.keys()), capacity);
}

const inUse = (current: CurrentState): Cost => ({
  frontends: current.frontends.size,
  backends: current.backends.size,
  slots: current.slotKeys.size,
});

/** Whether every port of @svcIds (with @frontends frontends in all) fits even if nothing it needs
 *  were in the maps yet: then no port is skipped, and costing each one is not needed. */
function fitsWhole(used: Cost, desired: DesiredState, svcIds: Iterable<number>, frontends: number, capacity: Capacity) {
  let backends = 0,
    slots = 0;
  for (const svcId of svcIds) {
    for (const setId of Object.values(desired.services.get(svcId)?.sets ?? {})) {
      const n = setId === undefined ? 0 : (desired.sets.get(setId)?.length ?? 0);
      backends += n; // each backend counted once per set it is in: no fewer than it costs
      slots += n;
    }
  }
  return (
    used.frontends + frontends <= capacity.frontends &&
    used.backends + backends <= capacity.backends &&
    used.slots + slots <= capacity.slots
  );
}

/** Frontends by svc id, of every service port (full sync). */
export function portsOf(
  frontends: Iterable<DesiredFrontend>,
  services: Iterable<number>,
): Map<number, DesiredFrontend[]> {
  const out = new Map<number, DesiredFrontend[]>();
  for (const id of services) out.set(id, []);
  for (const fe of frontends) out.get(fe.svcId)?.push(fe);
  return out;
}

/** The desired state without the skipped ports (a copy: the compiler's own state is not touched). */
export function withoutPorts(desired: DesiredState, skipped: Overflow[]): DesiredState {
  if (skipped.length === 0) return desired;
  const ids = new Set(skipped.map((s) => s.svcId));
  const sets = new Map(desired.sets);
  const backends = new Map(desired.backends);
  const services = new Map(desired.services);
  for (const id of ids) {
    const info = services.get(id)!;
    services.delete(id);
    for (const setId of Object.values(info.sets)) {
      if (setId === undefined) continue;
      for (const b of sets.get(setId) ?? []) backends.delete(b);
      sets.delete(setId);
    }
  }
  return { ...desired, frontends: desired.frontends.filter((fe) => !ids.has(fe.svcId)), sets, backends, services };
}

/** The scope without the skipped ports: their entries stay out of the maps this sync. */
export function scopeWithout(scope: CompileScope, desired: DesiredState, skipped: Overflow[]): CompileScope {
  if (skipped.length === 0) return scope;
  const ids = new Set(skipped.map((s) => s.svcId));
  const out: CompileScope = {
    // A skipped port's keys are planned as absent: a key it took from another port must not keep
    // pointing at that port's (possibly removed) set.
    frontends: new Map([...scope.frontends].map(([k, fe]) => [k, fe && ids.has(fe.svcId) ? undefined : fe])),
    sets: new Set(scope.sets),
    backends: new Set(scope.backends),
    services: new Set(scope.services),
  };
  for (const id of ids) {
    const info = desired.services.get(id)!;
    out.services.delete(id);
    for (const setId of Object.values(info.sets)) {
      if (setId === undefined) continue;
      out.sets.delete(setId);
      for (const b of desired.sets.get(setId) ?? []) out.backends.delete(b);
    }
  }
  return out;
}
