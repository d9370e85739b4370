// The model kept up to date one object at a time (kube-proxy's ServiceChangeTracker and
// EndpointsChangeTracker): a full build at start and after a relist, then each changed Service,
// EndpointSlice or Node is re-parsed alone and reports which Services it affects. Errors are kept
// per object, so an incremental update replaces exactly the reports of the objects it re-parsed.
// Duplicate names cannot arise here: the sources that report changes (informers) key by name.
import type { ObjectChange, Snapshot } from '../sources/types.js';
import { buildModel, checkTargetPorts, emptyModel } from './index.js';
import { parseEndpointSlice, parseNode } from './endpointslice.js';
import { heldResult } from './held.js';
import { parseService } from './service.js';
import { ValidationError, type ClusterModel, type EndpointSlice, type Service } from './types.js';

export type { ObjectChange };

export class ModelTracker {
  model: ClusterModel = emptyModel();
  private slices = new Map<string, EndpointSlice>();
  /** "Kind ns/name" → parse errors of that object; "target ns/name" → targetPort reports. */
  private errorsOf = new Map<string, ValidationError[]>();

  /** Rebuilds everything from a snapshot (start, relist, periodic check). */
  rebuild(snapshot: Snapshot): { model: ClusterModel; errors: ValidationError[] } {
    const built = buildModel(snapshot);
    this.model = built.model;
    this.slices = built.slices;
    this.errorsOf = new Map();
    for (const e of built.errors) {
      const k = isTargetReport(e) ? `target ${e.namespace}/${e.name}` : `${e.kind} ${e.namespace}/${e.name}`;
      const list = this.errorsOf.get(k);
      if (list) list.push(e);
      else this.errorsOf.set(k, [e]);
    }
    return { model: built.model, errors: built.errors };
  }

  /** Every problem currently known, in no particular order. */
  errors(): ValidationError[] {
    return [...this.errorsOf.values()].flat();
  }

  /**
   * Re-parses one object (@raw undefined: it was deleted). Returns the keys of the Services whose
   * compiled form may have changed, and the slice's trigger time if it has one.
   */
  apply(
    change: ObjectChange,
    raw: Record<string, unknown> | undefined,
    origin: string,
  ): { services: string[]; trigger?: Date } {
    if (change.kind === 'services') return { services: this.applyService(change.key, raw, origin) };
    if (change.kind === 'endpointSlices') return this.applySlice(change.key, raw, origin);
    this.model.nodes.delete(change.key.replace(/^\//, ''));
    this.setErrors(`Node ${change.key.replace(/^\//, '')}`, []);
    if (raw) {
      const r = parseNode(raw, origin);
      this.setErrors(
        `Node ${r.name}`,
        r.problems.map((p) => new ValidationError(origin, 'Node', r.namespace, r.name, p.field, p.message)),
      );
      if (r.value) this.model.nodes.set(r.value.name, r.value);
    }
    return { services: [] }; // compile does not read Nodes
  }

  // A key that stays is overwritten, not deleted and set again: a Map keeps deleted entries until
  // it rehashes, and one holding 10,000 entries then doubles its table (issue 12).
  private applyService(key: string, raw: Record<string, unknown> | undefined, origin: string): string[] {
    this.setErrors(`Service ${key}`, []);
    const r = raw && (heldResult<Service>(raw) ?? parseService(raw, origin));
    if (r) this.setErrors(`Service ${key}`, problems(origin, 'Service', r.namespace, r.name, r.problems));
    if (r?.value?.key !== key) this.model.services.delete(key);
    if (r?.value) this.model.services.set(r.value.key, r.value);
    this.recheckTargets(key);
    return [key];
  }

  private applySlice(
    key: string,
    raw: Record<string, unknown> | undefined,
    origin: string,
  ): { services: string[]; trigger?: Date } {
    const affected = new Set<string>();
    const old = this.slices.get(key);
    if (old) {
      // Kept lists are copied to their exact length: filter's and spread's results have room for
      // ~16 more, ~130 bytes of each of 10,000 lists once every Service's slice has changed.
      const list = (this.model.slicesByService.get(old.serviceKey) ?? []).filter((s) => s !== old).slice();
      // An emptied list is deleted below unless the new slice refills it: a delete and a set of
      // the same key grow the Map's table (its deleted entries count until it is rebuilt).
      this.model.slicesByService.set(old.serviceKey, list);
      affected.add(old.serviceKey);
    }
    this.setErrors(`EndpointSlice ${key}`, []);
    let trigger: Date | undefined;
    if (raw) {
      const r = heldResult<EndpointSlice>(raw) ?? parseEndpointSlice(raw, origin);
      this.setErrors(`EndpointSlice ${key}`, problems(origin, 'EndpointSlice', r.namespace, r.name, r.problems));
      if (r.value) {
        const slice = r.value;
        this.slices.set(key, slice);
        // Sorted by slice name, as buildModel leaves them: compile merges slices in this order.
        const list = (this.model.slicesByService.get(slice.serviceKey) ?? [])
          .concat(slice)
          .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
        this.model.slicesByService.set(slice.serviceKey, list);
        affected.add(slice.serviceKey);
        trigger = slice.lastChangeTriggerTime;
      }
    }
    if (old && this.slices.get(key) === old) this.slices.delete(key); // gone, or rejected now
    if (old && this.model.slicesByService.get(old.serviceKey)?.length === 0)
      this.model.slicesByService.delete(old.serviceKey);
    for (const svcKey of affected) this.recheckTargets(svcKey);
    return { services: [...affected], trigger };
  }

  private recheckTargets(svcKey: string): void {
    const svc = this.model.services.get(svcKey);
    this.setErrors(`target ${svcKey}`, svc ? checkTargetPorts(svc, this.model.slicesByService.get(svcKey) ?? []) : []);
  }

  private setErrors(key: string, errors: ValidationError[]): void {
    if (errors.length > 0) this.errorsOf.set(key, errors);
    else this.errorsOf.delete(key);
  }
}

function problems(
  origin: string,
  kind: string,
  ns: string,
  name: string,
  list: Array<{ field: string; message: string }>,
) {
  return list.map((p) => new ValidationError(origin, kind, ns, name, p.field, p.message));
}

/** checkTargetPorts' reports: kept Services (not rejected) with a targetPort field. */
function isTargetReport(e: ValidationError): boolean {
  return e.kind === 'Service' && !e.rejected && e.field.endsWith('.targetPort');
}
