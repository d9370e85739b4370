// Counters start at zero for a new Service: a deleted Service's svc_id is handed to the next
// one, and the per-CPU stats entry it indexes must not carry the old Service's traffic over.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { pino } from 'pino';
import { BpfObject, testRun } from '../../src/bpf/index.js';
import { compile, IdAllocator, type NodeConfig } from '../../src/compile/index.js';
import { dataplaneMaps, type DataplaneMaps } from '../../src/dataplane/maps.js';
import { Reconciler } from '../../src/dataplane/reconciler.js';
import { buildModel } from '../../src/model/index.js';
import { buildPacket } from '../lib/packet.js';
import { statsOf } from '../lib/datapath.js';
import { describeRoot } from '../lib/root.js';

const OBJECT = new URL('../../build/bpf/switchyard.o', import.meta.url).pathname;
const NODE: NodeConfig = { nodeName: 'node1', nodePortAddresses: [] };

const service = (name: string, vip: string) => ({
  kind: 'Service',
  metadata: { name, namespace: 'default' },
  spec: { clusterIP: vip, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
});
const slice = (svc: string) => ({
  kind: 'EndpointSlice',
  metadata: { name: `${svc}-1`, namespace: 'default', labels: { 'kubernetes.io/service-name': svc } },
  addressType: 'IPv4',
  ports: [{ name: 'http', port: 8080 }],
  endpoints: [{ addresses: ['10.244.1.11'], conditions: { ready: true } }],
});

describeRoot('stats of a reused service id', () => {
  let obj: BpfObject;
  let maps: DataplaneMaps;

  beforeAll(() => {
    obj = BpfObject.open(OBJECT);
    maps = dataplaneMaps(obj);
  });
  afterAll(() => obj?.close());

  it('a Service created after one with traffic was deleted gets its id and counters of 0', () => {
    const ids = new IdAllocator();
    const reconciler = new Reconciler(maps, pino({ level: 'silent' }));
    const sync = (...objects: Array<Record<string, unknown>>) => {
      const of = (kind: string) => objects.filter((o) => o.kind === kind).map((object) => ({ object, origin: 'test' }));
      const { model } = buildModel({
        services: of('Service'),
        endpointSlices: of('EndpointSlice'),
        nodes: [],
        errors: [],
      });
      const desired = compile(model, NODE, ids);
      reconciler.sync(desired);
      return desired;
    };

    const old = sync(service('old', '10.96.0.20'), slice('old'));
    const oldId = [...old.services.keys()][0];
    const prog = obj.program('from_pod');
    for (let i = 0; i < 5; i++) {
      testRun(
        prog,
        buildPacket({
          ip: { src: '10.244.0.20', dst: '10.96.0.20' },
          tcp: { sport: 40000 + i, dport: 80, flags: 'S' },
        }),
      );
    }
    expect(statsOf(maps, oldId)).toMatchObject({ packets: 5n, newFlows: 5n });

    sync(); // deleted
    const fresh = sync(service('new', '10.96.0.21'), slice('new'));
    const newId = [...fresh.services.keys()][0];
    expect(newId).toBe(oldId);
    expect(statsOf(maps, newId)).toEqual({ packets: 0n, bytes: 0n, newFlows: 0n, noBackend: 0n });
  });
});
