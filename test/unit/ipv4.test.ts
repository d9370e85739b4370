import { describe, expect, it } from 'vitest';
import { intToIpv4, ipv4Network, ipv4ToInt } from '../../src/net/ipv4.js';

describe('IPv4 arithmetic', () => {
  it('converts dotted quads to unsigned integers and back', () => {
    for (const [addr, n] of [
      ['0.0.0.0', 0],
      ['10.1.2.3', 0x0a010203],
      ['255.255.255.255', 0xffffffff],
      ['192.168.0.1', 0xc0a80001],
    ] as const) {
      expect(ipv4ToInt(addr), addr).toBe(n);
      expect(intToIpv4(n)).toBe(addr);
    }
  });

  it('gives -1 for anything but a dotted quad', () => {
    for (const bad of [
      '',
      '1.2.3',
      '1.2.3.4.5',
      '1.2.3.256',
      '1..2.3',
      '1.2.3.',
      'a.b.c.d',
      '::1',
      '1.2.3.4/8',
      '1.2.3.1234',
    ]) {
      expect(ipv4ToInt(bad), bad).toBe(-1);
    }
  });

  it('splits a CIDR into network, mask and length, clearing host bits', () => {
    expect(ipv4Network('10.1.2.3/8')).toEqual({ net: 0x0a000000, mask: 0xff000000, len: 8 });
    expect(ipv4Network('0.0.0.0/0')).toEqual({ net: 0, mask: 0, len: 0 });
    expect(ipv4Network('192.0.2.7/32')).toEqual({ net: 0xc0000207, mask: 0xffffffff, len: 32 });
    for (const bad of ['10.0.0.0', '10.0.0.0/33', '10.0.0.0/-1', '10.0.0.0/x', 'fd00::/8'])
      expect(ipv4Network(bad), bad).toBeUndefined();
  });
});
