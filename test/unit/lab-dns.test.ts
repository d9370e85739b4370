// The lab DNS' records (src/lab/dns/records.ts): the Kubernetes DNS schema over Services and
// slices, and the wire round trip through dns-packet as the server does it.
import { describe, expect, it } from 'vitest';
import * as dnsPacket from 'dns-packet';
import { answer, type KubeLike } from '../../src/lab/dns/records.js';

const svc = (name: string, spec: Record<string, unknown>, namespace = 'default'): KubeLike => ({
  metadata: { name, namespace },
  spec,
});
const slice = (
  service: string,
  eps: Array<[string, boolean]>,
  ports = [{ name: 'http', port: 8080, protocol: 'TCP' }],
): KubeLike => ({
  metadata: { name: `${service}-x`, namespace: 'default', labels: { 'kubernetes.io/service-name': service } },
  ports,
  endpoints: eps.map(([ip, ready]) => ({ addresses: [ip], conditions: { ready } })),
});

const services = [
  svc('my-nginx', { clusterIP: '10.96.0.11', ports: [{ port: 80 }] }),
  svc('web', { clusterIP: '10.96.0.12', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] }),
  svc('heads', { clusterIP: 'None', ports: [{ name: 'http', port: 80 }] }),
  svc('alias', { type: 'ExternalName', externalName: 'my-nginx.default.svc.cluster.local' }),
  svc('outside', { type: 'ExternalName', externalName: 'www.example.com.' }),
];
const slices = [
  slice('heads', [
    ['10.244.1.5', true],
    ['10.244.2.3', true],
    ['10.244.1.9', false],
  ]),
];
const data = (r: dnsPacket.Answer) => (r as { data?: unknown }).data;
const ask = (name: string, type: dnsPacket.RecordType = 'A') => answer({ name, type, class: 'IN' }, services, slices);

describe('lab DNS records', () => {
  it('answers a ClusterIP Service with its cluster IP', () => {
    const a = ask('my-nginx.default.svc.cluster.local');
    expect(a.rcode).toBe('NOERROR');
    expect(a.answers).toEqual([{ name: 'my-nginx.default.svc.cluster.local', type: 'A', ttl: 5, data: '10.96.0.11' }]);
  });

  it('answers a headless Service with its ready endpoints only, in address order', () => {
    expect(ask('heads.default.svc.cluster.local').answers.map((r) => data(r))).toEqual(['10.244.1.5', '10.244.2.3']);
    expect(ask('10-244-2-3.heads.default.svc.cluster.local').answers.map((r) => data(r))).toEqual(['10.244.2.3']);
    expect(ask('10-244-1-9.heads.default.svc.cluster.local').rcode).toBe('NXDOMAIN');
  });

  it('answers an ExternalName with a CNAME, chased inside the zone only', () => {
    expect(ask('alias.default.svc.cluster.local').answers.map((r) => [r.type, data(r)])).toEqual([
      ['CNAME', 'my-nginx.default.svc.cluster.local'],
      ['A', '10.96.0.11'],
    ]);
    expect(ask('outside.default.svc.cluster.local').answers.map((r) => [r.type, data(r)])).toEqual([
      ['CNAME', 'www.example.com'],
    ]);
  });

  it('answers SRV for a named port: the Service, or each ready pod with the endpoint port when headless', () => {
    const a = ask('_http._tcp.web.default.svc.cluster.local', 'SRV');
    expect(a.answers.map((r) => data(r))).toEqual([
      { priority: 0, weight: 100, port: 80, target: 'web.default.svc.cluster.local' },
    ]);
    expect(a.additionals.map((r) => data(r))).toEqual(['10.96.0.12']);
    const h = ask('_http._tcp.heads.default.svc.cluster.local', 'SRV');
    expect(h.answers.map((r) => (data(r) as { target: string; port: number }).target)).toEqual([
      '10-244-1-5.heads.default.svc.cluster.local',
      '10-244-2-3.heads.default.svc.cluster.local',
    ]);
    expect(h.answers.every((r) => (data(r) as { port: number }).port === 8080)).toBe(true);
    expect(ask('_nope._tcp.web.default.svc.cluster.local', 'SRV').rcode).toBe('NXDOMAIN');
    expect(ask('_http._udp.web.default.svc.cluster.local', 'SRV').rcode).toBe('NXDOMAIN');
  });

  it('says NODATA (NOERROR, no answers, SOA) for a known name of another type, NXDOMAIN for the rest', () => {
    const aaaa = ask('my-nginx.default.svc.cluster.local', 'AAAA');
    expect([aaaa.rcode, aaaa.answers.length, aaaa.authorities[0]?.type]).toEqual(['NOERROR', 0, 'SOA']);
    for (const name of [
      'nope.default.svc.cluster.local',
      'my-nginx.other.svc.cluster.local',
      'my-nginx.default.svc.cluster.local.default.svc.cluster.local',
      'example.com',
      'cluster.local',
    ]) {
      expect(ask(name).rcode, name).toBe('NXDOMAIN');
    }
  });

  it('round-trips through dns-packet with the rcode in the flags, as the server encodes it', () => {
    const a = ask('nope.default.svc.cluster.local');
    const wire = dnsPacket.encode({
      type: 'response',
      id: 7,
      flags: dnsPacket.AUTHORITATIVE_ANSWER | 3,
      questions: [{ name: 'nope.default.svc.cluster.local', type: 'A' }],
      authorities: a.authorities,
    });
    const back = dnsPacket.decode(wire);
    expect([(back as { rcode?: string }).rcode, back.flag_aa, back.authorities?.[0]?.type]).toEqual([
      'NXDOMAIN',
      true,
      'SOA',
    ]);
  });
});
