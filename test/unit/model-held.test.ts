// What the informers hold when the agent gives them the model's holdParsed (src/model/held.ts):
// the parse result instead of the wire object. The model built from held objects must be the one
// built from the objects themselves, errors included, for every object the corpus has, and no
// JSON can pass for a held object.
import { describe, expect, it } from 'vitest';
import { parseManifest } from '../../src/sources/manifest-parse.js';
import { buildModel, holdParsed } from '../../src/model/index.js';
import { heldResult } from '../../src/model/held.js';
import { ModelTracker } from '../../src/model/tracker.js';
import type { Snapshot, SourcedObject } from '../../src/sources/types.js';
import { corpusCases } from '../corpus/corpus.js';

const held = (kind: 'Service' | 'EndpointSlice', list: SourcedObject[]) =>
  list.map(({ object, origin }) => ({ object: holdParsed(kind, object, origin), origin }));

function snapshots(text: string, file: string): { raw: Snapshot; kept: Snapshot } | undefined {
  const parsed = parseManifest(text, file);
  if ('error' in parsed) return undefined;
  const raw = { services: parsed.services, endpointSlices: parsed.endpointSlices, nodes: parsed.nodes, errors: [] };
  const kept = {
    ...raw,
    services: held('Service', raw.services),
    endpointSlices: held('EndpointSlice', raw.endpointSlices),
  };
  return { raw, kept };
}

const slice = (ip: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: {
    name: 'web-1',
    namespace: 'default',
    resourceVersion: '7',
    labels: { 'kubernetes.io/service-name': 'web' },
  },
  addressType: 'IPv4',
  endpoints: [{ addresses: [ip], conditions: { ready: true }, nodeName: 'node-a', targetRef: { name: 'web-0' } }],
  ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  ...extra,
});

describe('holdParsed', () => {
  const cases = corpusCases().filter((c) => typeof c.text === 'string');
  it.each(cases.map((c) => [c.file, c] as const))(
    '%s: the model of held objects is the model of the objects',
    (file, c) => {
      const s = snapshots(c.text as string, file);
      if (!s) return; // not a manifest at all: nothing reaches the model
      const fromRaw = buildModel(s.raw);
      const fromHeld = buildModel(s.kept);
      expect(fromHeld.model).toEqual(fromRaw.model);
      expect(fromHeld.errors.map((e) => e.describe())).toEqual(fromRaw.errors.map((e) => e.describe()));
    },
  );

  it('keeps the resourceVersion and nothing of the wire object', () => {
    const kept = holdParsed('EndpointSlice', slice('10.244.1.5'), 'apiserver');
    expect(Object.keys(kept)).toEqual(['metadata']);
    expect(kept.metadata).toEqual({ resourceVersion: '7' });
    expect(JSON.stringify(kept)).not.toContain('10.244.1.5');
    expect(heldResult<{ endpoints: Array<{ address: string }> }>(kept)?.value?.endpoints[0]?.address).toBe(
      '10.244.1.5',
    );
  });

  it('holds a rejected object as its problems, reported as a fresh parse would', () => {
    const bad = slice('10.244.1.500');
    const kept = holdParsed('EndpointSlice', bad, 'apiserver');
    const errs = (o: Record<string, unknown>) =>
      buildModel({
        services: [],
        endpointSlices: [{ object: o, origin: 'apiserver' }],
        nodes: [],
        errors: [],
      }).errors.map((e) => e.describe());
    expect(errs(kept)).toEqual(errs(bad));
    expect(errs(kept)[0]).toContain('EndpointSlice default/web-1: endpoints[0].addresses[0]');
  });

  it('is not forged by JSON: an object from the wire is always parsed', () => {
    const forged = JSON.parse(
      JSON.stringify({ ...slice('10.244.1.500'), 'Symbol(switchyard: parsed by the model)': {} }),
    );
    expect(heldResult(forged)).toBeUndefined();
    const { errors } = buildModel({
      services: [],
      endpointSlices: [{ object: forged, origin: 'x' }],
      nodes: [],
      errors: [],
    });
    expect(errors).toHaveLength(1);
  });

  it('serves the tracker as it serves buildModel: one changed slice, held', () => {
    const tracker = new ModelTracker();
    tracker.rebuild({
      services: [],
      endpointSlices: held('EndpointSlice', [{ object: slice('10.244.1.5'), origin: 'a' }]),
      nodes: [],
      errors: [],
    });
    const { services } = tracker.apply(
      { kind: 'endpointSlices', key: 'default/web-1' },
      holdParsed('EndpointSlice', slice('10.244.1.6'), 'a'),
      'a',
    );
    expect(services).toEqual(['default/web']);
    expect(tracker.model.slicesByService.get('default/web')?.[0]?.endpoints.map((e) => e.address)).toEqual([
      '10.244.1.6',
    ]);
  });
});
