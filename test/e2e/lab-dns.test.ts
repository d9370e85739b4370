// The lab's cluster DNS end to end, as the seeds' readers use it: from a pod, names resolve
// through kube-dns (10.96.0.10, a Service served by Switchyard) with dig and the libc resolver;
// driven only through `switchyard lab …`.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { beforeAll, expect, it } from 'vitest';
import type { LabStatus } from '../../src/lab/lab-status.js';
import { CLI, withLab } from '../lib/lab-cli.js';
import { describeRoot } from '../lib/root.js';

const readyIps = (s: LabStatus, svc: string) =>
  s.services
    .find((x) => x.name === svc)!
    .endpoints.map((e) => e.split(':')[0])
    .sort();

describeRoot('lab cluster DNS', () => {
  beforeAll(() => {
    // dig comes with dnsutils (the Makefile's DEB_PKGS): missing, it is a setup error, not a skip.
    if (spawnSync('dig', ['-v'], { stdio: 'ignore' }).status !== 0)
      throw new Error('dig not found: make deps installs dnsutils');
  });
  let netns: string[] = [];
  const L = withLab({
    letter: 'd',
    afterUp: ({ first }) => {
      netns = first.pods.map((p) => p.netns);
    },
    // Down removes the pods' resolv.conf with their namespaces.
    afterDown: () => expect(netns.filter((ns) => existsSync(`/etc/netns/${ns}`))).toEqual([]),
  });
  const { lab, status } = L;
  const inClient = (...argv: string[]) => L.exec('client', ...argv);
  /** dig's short answer lines from the client pod, sorted. */
  const dig = (...args: string[]) =>
    inClient('dig', '+search', '+short', '+time=1', '+tries=3', ...args)
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .sort();

  it('runs kube-dns at 10.96.0.10 on UDP and TCP 53 with ready pods, and gives pods the cluster resolv.conf', () => {
    const dns = L.first.services.find((s) => s.name === 'kube-dns')!;
    expect(dns).toMatchObject({ namespace: 'kube-system', clusterIP: '10.96.0.10' });
    expect(dns.ports.map((p) => `${p.port}/${p.protocol}`).sort()).toEqual(['53/TCP', '53/UDP']);
    expect(dns.endpoints.length).toBeGreaterThan(0);
    const conf = inClient('cat', '/etc/resolv.conf');
    expect(conf).toContain('nameserver 10.96.0.10');
    expect(conf).toContain('search default.svc.cluster.local svc.cluster.local cluster.local');
  });

  it('resolves my-nginx to its ClusterIP (libc and dig) and curl http://my-nginx/ answers', () => {
    const vip = L.first.services.find((s) => s.name === 'my-nginx')!.clusterIP;
    expect(inClient('getent', 'hosts', 'my-nginx').trim()).toBe(`${vip}      my-nginx.default.svc.cluster.local`);
    expect(dig('my-nginx')).toEqual([vip]);
    expect(inClient('curl', '-s', '-m', '3', 'http://my-nginx/')).toMatch(/^Hello MyApp/);
  });

  it('answers NXDOMAIN for a name that is no Service', () => {
    const r = spawnSync(
      process.execPath,
      [CLI, 'lab', 'exec', '--name', L.name, 'client', '--', 'dig', 'nope.default.svc.cluster.local'],
      { encoding: 'utf8' },
    );
    expect(r.stdout).toContain('status: NXDOMAIN');
  });

  it('resolves the headless name to exactly the ready pods, and follows a scale-down within 2 s', () => {
    expect(dig('myapp-svc-headless')).toEqual(readyIps(L.first, 'myapp-svc-headless'));
    expect(dig('myapp-svc-headless')).toHaveLength(5);
    lab('scale', 'myapp-deploy', '--replicas', '2');
    // From the moment the API holds the smaller slices (scale returns after writing them): the
    // CLI's own start-up, seconds on a busy 2-core machine, is not the DNS server's to follow.
    const t0 = Date.now();
    const want = readyIps(status(), 'myapp-svc-headless');
    expect(want).toHaveLength(2);
    let got: string[] = [];
    while (Date.now() - t0 < 2000 && JSON.stringify((got = dig('myapp-svc-headless'))) !== JSON.stringify(want)) {
      /* poll */
    }
    expect(got).toEqual(want);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('answers the ExternalName with its CNAME', () => {
    expect(dig('client-svc', 'CNAME')).toEqual(['my-nginx.default.svc.cluster.local.']);
  });

  it('answers SRV for a named port', () => {
    expect(dig('_http._tcp.myapp-sticky.default.svc.cluster.local', 'SRV')).toEqual([
      '0 100 80 myapp-sticky.default.svc.cluster.local.',
    ]);
    expect(dig('_echo._udp.echo-udp.default.svc.cluster.local', 'SRV')).toEqual([
      '0 100 53 echo-udp.default.svc.cluster.local.',
    ]);
  });

  it('answers over TCP too, through the Service', () => {
    const vip = L.first.services.find((s) => s.name === 'my-nginx')!.clusterIP;
    expect(dig('+tcp', 'my-nginx.default.svc.cluster.local')).toEqual([vip]);
  });
});
