// The model: a Snapshot of raw objects → a ClusterModel everything downstream can trust, plus the
// problems found. A bad object is reported and skipped (the whole object: a Service with one bad
// port is not half-programmed); everything else carries on.
import type { Snapshot, SourcedObject } from '../sources/types.js';
import type { FieldProblem } from './check.js';
import { parseEndpointSlice, parseNode } from './endpointslice.js';
import { heldResult } from './held.js';
import { resolvePort } from './ports.js';
import { parseService, type ParseResult } from './service.js';
import { ValidationError, type ClusterModel, type EndpointSlice, type Service } from './types.js';

export * from './types.js';
export { resolvePort } from './ports.js';
export { EndpointList } from './endpoint-list.js';
export { parseService } from './service.js';
export { parseEndpointSlice, parseNode, SERVICE_NAME_LABEL, TRIGGER_TIME_ANNOTATION } from './endpointslice.js';
export { holdParsed, type HeldKind } from './held.js';

export interface BuildResult {
  model: ClusterModel;
  errors: ValidationError[];
  /** The slices of the model by "namespace/name" (the tracker keeps this map rather than
   *  building its own). */
  slices: Map<string, EndpointSlice>;
}

export function emptyModel(): ClusterModel {
  return { services: new Map(), slicesByService: new Map(), nodes: new Map(), triggerTimes: [] };
}

export function buildModel(snapshot: Snapshot): BuildResult {
  const model = emptyModel();
  const errors: ValidationError[] = [];

  const take = <T extends { origin: string }>(
    kind: string,
    objects: SourcedObject[],
    parse: (raw: unknown, origin: string) => ParseResult<T>,
    storeKey: (v: T) => string,
    store: Map<string, T>,
  ) => {
    for (const { object, origin } of objects) {
      const r = heldResult<T>(object) ?? parse(object, origin); // held: read when it was taken in
      report(errors, origin, kind, r.namespace, r.name, r.problems);
      if (!r.value) continue;
      const key = storeKey(r.value);
      const first = store.get(key);
      if (first) {
        errors.push(
          new ValidationError(
            origin,
            kind,
            r.namespace,
            r.name,
            'metadata.name',
            `duplicates the ${kind} of the same name from ${first.origin}; this one is ignored`,
          ),
        );
        continue;
      }
      store.set(key, r.value);
    }
  };

  take('Service', snapshot.services, parseService, (s) => s.key, model.services);
  take('Node', snapshot.nodes, parseNode, (n) => n.name, model.nodes);
  const slices = new Map<string, EndpointSlice>();
  take(
    'EndpointSlice',
    snapshot.endpointSlices,
    parseEndpointSlice,
    (s) => [s.namespace, '/', s.name].join(''),
    slices,
  );

  // Each Service's slices sorted by name (compile merges them in this order), and the trigger
  // times in slice name order; sorting each list of two or more, not all slices at once.
  const triggered: EndpointSlice[] = [];
  for (const slice of slices.values()) {
    const list = model.slicesByService.get(slice.serviceKey);
    if (slice.lastChangeTriggerTime) triggered.push(slice);
    if (list) list.push(slice);
    else model.slicesByService.set(slice.serviceKey, [slice]);
  }
  const byName = (a: EndpointSlice, b: EndpointSlice) => cmp(a.name, b.name);
  for (const list of model.slicesByService.values()) if (list.length > 1) list.sort(byName);
  for (const slice of triggered.sort(byName)) model.triggerTimes.push(slice.lastChangeTriggerTime!);

  for (const svc of model.services.values())
    errors.push(...checkTargetPorts(svc, model.slicesByService.get(svc.key) ?? []));
  return { model, errors, slices };
}

/**
 * A Service port that no endpoint slice of the Service resolves (see resolvePort) gets no backends.
 * That is reported on the Service (field spec.ports[i].targetPort) but the Service is kept: its
 * other ports work, and the port itself answers "no backends" (reject) until the slices match.
 * Only slices with endpoints count, so a Service without pods is not reported.
 */
export function checkTargetPorts(svc: Service, slices: EndpointSlice[]): ValidationError[] {
  if (svc.headless || svc.type === 'ExternalName' || !slices.some((s) => s.endpoints.length > 0)) return [];
  const out: ValidationError[] = [];
  for (const sp of svc.ports) {
    // The common case (the port resolves) without a filtered copy of the slices per Service.
    if (slices.some((s) => s.endpoints.length > 0 && resolvePort(sp, s) !== undefined)) continue;
    const withEndpoints = slices.filter((s) => s.endpoints.length > 0);
    const have = [
      ...new Set(
        withEndpoints.flatMap((s) =>
          s.ports.filter((p) => p.protocol === sp.protocol).map((p) => (p.name ? `"${p.name}"` : '(unnamed)')),
        ),
      ),
    ];
    const haveText = have.length ? `they have ${have.join(', ')}` : `they list no ${sp.protocol} ports`;
    const message =
      typeof sp.targetPort === 'string'
        ? `no ${sp.protocol} port named "${sp.targetPort}"${sp.name ? ` or "${sp.name}"` : ''} in the EndpointSlices of ` +
          `${svc.key} (${haveText}); this port has no backends`
        : `no ${sp.protocol} port of the EndpointSlices of ${svc.key} matches port "${sp.name}" (${haveText}); ` +
          'this port has no backends';
    out.push(
      new ValidationError(
        svc.origin,
        'Service',
        svc.namespace,
        svc.name,
        `spec.ports[${sp.index}].targetPort`,
        message,
        false,
      ),
    );
  }
  return out;
}

function report(
  errors: ValidationError[],
  origin: string,
  kind: string,
  ns: string,
  name: string,
  problems: FieldProblem[],
) {
  for (const p of problems) errors.push(new ValidationError(origin, kind, ns, name, p.field, p.message));
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
