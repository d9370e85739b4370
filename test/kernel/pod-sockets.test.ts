// Pod socket LB finds a pod's namespace and addresses from its host-side veth (findPodNetns): the
// IPv4 and, for a dual-stack pod, IPv6 address of the veth's peer are the ClientIP-affinity
// clients of the pod's unbound sockets, as the tc path sees its packets' sources.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { findPodNetns } from '../../src/agent/pod-sockets.js';
import { currentNetnsCookie, inNetns } from '../../src/bpf/index.js';
import { cleanUp, createNetns, deleteNetns, run, uniqueName } from '../lib/namespaces.js';
import { describeRoot } from '../lib/root.js';

describeRoot('pod socket LB: a pod device to its namespace and addresses', () => {
  const node = uniqueName('sypn');
  const dual = uniqueName('sypd');
  const v4only = uniqueName('syp4');

  /** A veth `dev` in the node namespace whose peer eth0 is in `pod`, with `addrs` on the peer. */
  const pod = (name: string, dev: string, addrs: string[]) => {
    createNetns(name);
    run('ip', ['-n', node, 'link', 'add', dev, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', name]);
    for (const a of addrs)
      run('ip', ['-n', name, 'addr', 'add', a, 'dev', 'eth0', ...(a.includes(':') ? ['nodad'] : [])]);
    run('ip', ['-n', name, 'link', 'set', 'eth0', 'up']);
    run('ip', ['-n', node, 'link', 'set', dev, 'up']);
  };

  beforeAll(() => {
    createNetns(node);
    pod(dual, 'vethdual', ['10.244.9.5/24', 'fd00:244:9::5/64']);
    pod(v4only, 'vethv4', ['10.244.9.6/24']);
  });
  afterAll(() => cleanUp([dual, v4only, node].map((n) => () => deleteNetns(n))));

  it('a dual-stack pod: its namespace, cookie, IPv4 and IPv6 address', () => {
    const found = inNetns(node, () => findPodNetns('vethdual'));
    expect(found).toEqual({
      pod: {
        device: 'vethdual',
        netns: dual,
        cookie: inNetns(dual, currentNetnsCookie),
        addr: '10.244.9.5',
        addr6: 'fd00:244:9::5',
      },
    });
  });

  it("an IPv4-only pod: '::' as its IPv6 client", () => {
    const found = inNetns(node, () => findPodNetns('vethv4'));
    expect('pod' in found && found.pod.addr6).toBe('::');
  });
});
