// resolvePort (src/model/ports.ts): which endpoint port a Service port sends to on one slice's
// endpoints. compile picks backends with it and the model's targetPort check reports with it.
import { describe, expect, it } from 'vitest';
import { resolvePort } from '../../src/model/ports.js';
import type { EndpointPort, EndpointSlice, Protocol, ServicePort } from '../../src/model/types.js';

const sp = (name: string, targetPort: number | string, protocol: Protocol = 'TCP'): ServicePort => ({
  index: 0,
  name,
  protocol,
  port: 80,
  targetPort,
});
const on = (...ports: EndpointPort[]) => ({ ports }) as unknown as EndpointSlice;
const port = (name: string, p: number, protocol: Protocol = 'TCP'): EndpointPort => ({ name, port: p, protocol });

describe('resolvePort', () => {
  it('takes the slice port named like the Service port, of its protocol', () => {
    expect(resolvePort(sp('http', 8080), on(port('metrics', 9090), port('http', 8081)))).toBe(8081);
    expect(resolvePort(sp('dns', 53, 'UDP'), on(port('dns', 5353, 'TCP'), port('dns', 5354, 'UDP')))).toBe(5354);
    // The first of two ports named alike wins, as the EndpointSlice controller never writes two.
    expect(resolvePort(sp('http', 8080), on(port('http', 1), port('http', 2)))).toBe(1);
  });

  it('else, for a named targetPort, the slice port of that name (none: no backends)', () => {
    expect(resolvePort(sp('web', 'http-alt'), on(port('http', 8080), port('http-alt', 8081)))).toBe(8081);
    expect(resolvePort(sp('web', 'http-alt'), on(port('http-alt', 8081, 'UDP')))).toBeUndefined();
    expect(resolvePort(sp('web', 'http-alt'), on())).toBeUndefined();
  });

  it('else, for a numbered targetPort, that number when the slice has no port or one unnamed one', () => {
    expect(resolvePort(sp('web', 8080), on())).toBe(8080);
    expect(resolvePort(sp('web', 8080), on(port('', 9999)))).toBe(8080);
    expect(resolvePort(sp('web', 8080), on(port('', 9999, 'UDP')))).toBe(8080); // other protocols do not count
    expect(resolvePort(sp('web', 8080), on(port('other', 9999)))).toBeUndefined();
    expect(resolvePort(sp('web', 8080), on(port('', 1), port('x', 2)))).toBeUndefined();
    // An unnamed Service port matches an unnamed slice port by name first (rule 1).
    expect(resolvePort(sp('', 8080), on(port('', 9999)))).toBe(9999);
  });
});
