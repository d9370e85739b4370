import { describe, expect, it } from 'vitest';
import { ct6Key } from '../../src/abi/layouts.js';
import { CodecError } from '../../src/bpf/codec.js';
import {
  addrPort,
  canonicalIp,
  canonicalIpv6,
  cidrContains,
  compareIp,
  formatIpv6,
  hostPort,
  ipFamily,
  ipv6Bytes,
  ipv6Network,
} from '../../src/net/ipv6.js';

describe('IPv6 text and bytes', () => {
  it('parses every form to the network-order bytes', () => {
    expect(ipv6Bytes('2001:db8::1').toString('hex')).toBe('20010db8000000000000000000000001');
    expect(ipv6Bytes('::').toString('hex')).toBe('0'.repeat(32));
    expect(ipv6Bytes('::ffff:10.0.0.1').toString('hex')).toBe('00000000000000000000ffff0a000001');
    expect(ipv6Bytes('FD00:0:0:1::').toString('hex')).toBe('fd000000000000010000000000000000');
    expect(() => ipv6Bytes('10.0.0.1')).toThrow('invalid IPv6 address "10.0.0.1"');
    expect(() => ipv6Bytes('fe80::1%eth0')).toThrow(RangeError);
  });

  it('prints the RFC 5952 canonical form', () => {
    expect(canonicalIpv6('2001:0DB8:0000:0000:0000:0000:0000:0001')).toBe('2001:db8::1');
    expect(canonicalIpv6('2001:db8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1'); // first of equal runs
    expect(canonicalIpv6('2001:db8:0:1:1:1:1:1')).toBe('2001:db8:0:1:1:1:1:1'); // one 0 group stays
    expect(canonicalIpv6('2001:0:0:1:0:0:0:1')).toBe('2001:0:0:1::1'); // the longest run
    expect(canonicalIpv6('::')).toBe('::');
    expect(canonicalIpv6('fd00::')).toBe('fd00::');
    expect(formatIpv6(Buffer.from('00000000000000000000000000000001', 'hex'))).toBe('::1');
    expect(canonicalIpv6('nope')).toBeUndefined();
  });

  it('brackets IPv6 in host:port only', () => {
    expect(hostPort('2001:db8::1', 80)).toBe('[2001:db8::1]:80');
    expect(hostPort('10.0.0.1', 80)).toBe('10.0.0.1:80');
  });

  it('round-trips a conntrack key through its codec, naming a bad field', () => {
    const key = { saddr: 'fd00:10:1::5', daddr: 'fd00:96::a', sport: 40000, dport: 80, proto: 6, dir: 0 };
    const buf = Buffer.alloc(ct6Key.size);
    ct6Key.encode(key, buf);
    expect(ct6Key.size).toBe(40);
    expect(buf.subarray(0, 16).toString('hex')).toBe('fd000010000100000000000000000005');
    expect(ct6Key.decode(buf)).toEqual(key);
    expect(() => ct6Key.encode({ ...key, daddr: '10.0.0.1' }, buf)).toThrow(CodecError);
    expect(() => ct6Key.encode({ ...key, daddr: '10.0.0.1' }, buf)).toThrow('sy_ct6_key.daddr');
  });
});

describe('IPv6 for the control plane', () => {
  it('formats RFC 5952 canonical text', () => {
    expect(canonicalIpv6('2001:0DB8:0000:0000:0000:0000:0000:0001')).toBe('2001:db8::1');
    expect(canonicalIpv6('2001:db8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1'); // first of equal runs
    expect(canonicalIpv6('2001:db8:0:1:1:1:1:1')).toBe('2001:db8:0:1:1:1:1:1'); // one zero group stays
    expect(canonicalIpv6('fd10:0:0:0:0:0:0:0')).toBe('fd10::');
    expect(canonicalIpv6('::')).toBe('::');
    expect(canonicalIpv6('0:0:0:0:0:0:0:1')).toBe('::1');
    expect(canonicalIpv6('::ffff:10.0.0.1')).toBe('::ffff:10.0.0.1');
    expect(canonicalIpv6('0:0:0:0:0:ffff:a00:1')).toBe('::ffff:10.0.0.1');
    expect(canonicalIpv6('64:ff9b::192.0.2.33')).toBe('64:ff9b::c000:221');
    expect(canonicalIpv6('fe80::1%eth0')).toBeUndefined();
    expect(canonicalIpv6('2001:db8::1::2')).toBeUndefined();
    expect(canonicalIpv6('10.0.0.1')).toBeUndefined();
    expect(canonicalIp('10.0.0.1')).toBe('10.0.0.1');
    expect(canonicalIp('FD10::0A')).toBe('fd10::a');
  });

  it('writes addr:port with brackets for IPv6 only', () => {
    expect(addrPort('2001:db8::1', 80)).toBe('[2001:db8::1]:80');
    expect(addrPort('10.0.0.1', 80)).toBe('10.0.0.1:80');
  });

  it('tells the family and orders IPv4 before IPv6, numerically', () => {
    expect(ipFamily('fd00::1')).toBe('IPv6');
    expect(ipFamily('10.1.1.1')).toBe('IPv4');
    expect(ipFamily('fd00::g')).toBeUndefined();
    const sorted = ['fd00::10', '10.0.0.9', 'fd00::9', '10.0.0.10', '::1'].sort(compareIp);
    expect(sorted).toEqual(['10.0.0.9', '10.0.0.10', '::1', 'fd00::9', 'fd00::10']);
  });

  it('clears host bits and tests containment for both families', () => {
    expect(ipv6Network('fd10::ff/120')?.bytes[15]).toBe(0);
    expect(ipv6Network('fd10::ff/129')).toBeUndefined();
    expect(ipv6Network('fd10::/x')).toBeUndefined();
    expect(cidrContains('fd10:0:0:1::/64', 'fd10:0:0:1:ab::5')).toBe(true);
    expect(cidrContains('fd10:0:0:1::/64', 'fd10:0:0:2::5')).toBe(false);
    expect(cidrContains('fd10::/63', 'fd10:0:0:1::1')).toBe(true);
    expect(cidrContains('fd00::/8', 'fe80::1')).toBe(false);
    expect(cidrContains('::/0', 'fe80::1')).toBe(true);
    expect(cidrContains('10.0.0.0/8', 'fd00::1')).toBe(false);
    expect(cidrContains('fd00::/8', '10.0.0.1')).toBe(false);
    expect(cidrContains('10.0.0.0/8', '10.200.0.1')).toBe(true);
    expect(cidrContains('10.0.0.0/33', '10.200.0.1')).toBe(false);
  });
});
