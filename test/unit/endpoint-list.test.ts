// EndpointList (src/model/endpoint-list.ts) keeps a slice's endpoints as columns: what it gives
// back, as objects or column by column, is what it was given.
import { describe, expect, it } from 'vitest';
import { EndpointList, type Endpoint } from '../../src/model/index.js';

const eps: Endpoint[] = [
  { address: '10.244.1.5', ready: true, serving: true, terminating: false, nodeName: 'node-a', zone: 'z1' },
  { address: '192.168.200.7', ready: false, serving: true, terminating: true }, // u32 above 2^31
  { address: '0.0.0.0', ready: false, serving: false, terminating: false, nodeHints: ['node-b'] },
  { address: 'fd00::1', ready: true, serving: false, terminating: true, nodeName: 'node-b', zoneHints: ['z2'] },
  { address: '255.255.255.255', ready: true, serving: true, terminating: true },
];

describe('EndpointList', () => {
  it('gives back the endpoints it was made from, in order', () => {
    const list = EndpointList.from(eps);
    expect(list.length).toBe(5);
    expect([...list]).toEqual(eps);
    expect(list.map((e, i) => `${i}:${e.address}`)).toEqual(eps.map((e, i) => `${i}:${e.address}`));
    expect(list.at(-1)).toEqual(eps[4]);
    expect(list.at(5)).toBeUndefined();
    expect(JSON.parse(JSON.stringify({ endpoints: list }))).toEqual({ endpoints: eps });
  });

  it('reads each column without making the endpoint', () => {
    const list = EndpointList.from(eps);
    expect(eps.map((_, i) => list.ip(i))).toEqual([0x0af40105, 0xc0a8c807, 0, -1, 0xffffffff]);
    expect(eps.map((_, i) => list.address(i))).toEqual(eps.map((e) => e.address));
    expect(eps.map((_, i) => [list.ready(i), list.serving(i), list.terminating(i)])).toEqual(
      eps.map((e) => [e.ready, e.serving, e.terminating]),
    );
    expect(eps.map((_, i) => list.nodeName(i))).toEqual(eps.map((e) => e.nodeName));
    expect(eps.map((_, i) => list.zone(i))).toEqual(eps.map((e) => e.zone));
    expect(eps.map((_, i) => list.zoneHints(i))).toEqual(eps.map((e) => e.zoneHints));
    expect(eps.map((_, i) => list.nodeHints(i))).toEqual(eps.map((e) => e.nodeHints));
  });

  it('is empty when made from nothing', () => {
    const list = EndpointList.from([]);
    expect(list.length).toBe(0);
    expect([...list]).toEqual([]);
    expect(list.at(0)).toBeUndefined();
  });
});

describe('EndpointList node names', () => {
  it('keeps the names past the index table in a column of the list, in this file alone', () => {
    // 65,535 names fill the table (index 0 is "none"); this test's module state is its own.
    const many = Array.from({ length: 70_000 }, (_, i) => ({
      address: `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`,
      ready: true,
      serving: true,
      terminating: false,
      nodeName: `node-${i}`,
    }));
    const list = EndpointList.from(many);
    expect(list.nodeName(0)).toBe('node-0');
    expect(list.nodeName(65_534)).toBe('node-65534');
    expect(list.nodeName(65_535)).toBe('node-65535'); // the first past the table
    expect(list.nodeName(69_999)).toBe('node-69999');
    expect([...list]).toEqual(many);
    // A later list names both kinds, and one without a node name has none.
    const later = EndpointList.from([many[3]!, many[66_000]!, { ...many[5]!, nodeName: undefined }]);
    expect([...later].map((e) => e.nodeName)).toEqual(['node-3', 'node-66000', undefined]);
  });
});
