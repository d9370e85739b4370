import { describe, expect, it } from 'vitest';
import { FIRST_HOST, LAST_HOST, placePod, type NodeSlot, type PodSlot } from '../../src/lab/placement.js';

const NODES: NodeSlot[] = [
  { name: 'node1', podCidr: '10.244.1.0/24', index: 1 },
  { name: 'node2', podCidr: '10.244.2.0/24', index: 2 },
];
const pod = (node: string, host: number, deployment?: string, active = true): PodSlot => ({
  node,
  ip: `${NODES.find((n) => n.name === node)!.podCidr.slice(0, -5)}.${host}`,
  deployment,
  active,
});

describe('placePod', () => {
  it('puts the first pod on the first node, at the first address', () => {
    expect(placePod(NODES, [])).toEqual({ node: 'node1', ip: '10.244.1.11', host: 11 });
  });

  it('spreads a Deployment first, then the pods overall, then by node index', () => {
    // node1 has more pods overall, but node2 already has one of "web": the next "web" goes to node1.
    const pods = [pod('node1', 11, 'db'), pod('node1', 12, 'db'), pod('node2', 11, 'web')];
    expect(placePod(NODES, pods, { deployment: 'web' }).node).toBe('node1');
    // For a Deployment with no pods yet, the node with fewer pods wins.
    expect(placePod(NODES, pods, { deployment: 'api' }).node).toBe('node2');
    // A tie everywhere: the lower index.
    expect(placePod(NODES, [pod('node1', 11, 'a'), pod('node2', 11, 'a')], { deployment: 'a' }).node).toBe('node1');
  });

  it('does not count leaving pods for spreading, but does not reuse their addresses', () => {
    const pods = [pod('node1', 11, 'web', false), pod('node1', 12, 'web', false), pod('node2', 11, 'web')];
    expect(placePod(NODES, pods, { deployment: 'web' })).toEqual({ node: 'node1', ip: '10.244.1.13', host: 13 });
  });

  it('places on a given node at its lowest free address when there is no cursor', () => {
    const pods = [pod('node2', 11), pod('node2', 13), pod('node1', 12)];
    expect(placePod(NODES, pods, { node: 'node2' })).toEqual({ node: 'node2', ip: '10.244.2.12', host: 12 });
  });

  it('starts from the node cursor, skipping used addresses and wrapping to the bottom', () => {
    const pods = [pod('node1', 20), pod('node1', 11)];
    expect(placePod(NODES, pods, { node: 'node1', nextHost: { node1: 20 } }).host).toBe(21);
    expect(placePod(NODES, pods, { node: 'node1', nextHost: { node1: LAST_HOST + 1 } }).host).toBe(12);
    expect(placePod(NODES, [pod('node1', LAST_HOST)], { node: 'node1', nextHost: { node1: LAST_HOST } }).host).toBe(
      FIRST_HOST,
    );
  });

  it('names the node when its range is full or it does not exist', () => {
    const full = Array.from({ length: LAST_HOST - FIRST_HOST + 1 }, (_, i) => pod('node1', FIRST_HOST + i));
    expect(() => placePod(NODES, full, { node: 'node1', nextHost: { node1: 99 } })).toThrow(
      /node node1 has no pod address left in 10\.244\.1\.0\/24/,
    );
    expect(placePod(NODES, full).node).toBe('node2');
    expect(() => placePod(NODES, [], { node: 'node9' })).toThrow(
      'no node "node9" to place a pod on (have node1, node2)',
    );
    expect(() => placePod([], [])).toThrow('no node to place a pod on');
  });
});
