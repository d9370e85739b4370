// The packet toolkit lives in src/net/packet.ts (switchyard trace uses it too); tests import it from here.
export * from '../../src/net/packet.js';
