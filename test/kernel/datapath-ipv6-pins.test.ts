// IPv6 reaches its programs through the prog array progs6, which libbpf fills at load. The agent
// reopens the object on its pinned maps after a restart; this checks that IPv6 is still translated
// through the reused, pinned progs6 after the first object closed (a prog array is emptied when its
// last user reference goes; the pin is one).
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { IPPROTO_TCP, SCOPE_INTERNAL } from '../../src/abi/index.js';
import * as layouts from '../../src/abi/layouts.js';
import { BpfObject, testRun } from '../../src/bpf/index.js';
import { buildPacket6 } from '../../src/net/packet6.js';
import { withBpffs } from '../lib/namespaces.js';
import { describeRoot } from '../lib/root.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const OBJ = `${ROOT}build/bpf/switchyard.o`;
const VIP = 'fd00:96::a',
  BACKEND = 'fd00:244:1::21';

function translate(obj: BpfObject): string {
  const syn = buildPacket6({ ip: { src: 'fd00:244:1::11', dst: VIP }, tcp: { sport: 40000, dport: 80 } });
  return testRun(obj.program('from_pod'), syn)
    .data.subarray(14 + 24, 14 + 40)
    .toString('hex');
}

describeRoot('IPv6 dispatch across an agent restart (pinned progs6)', () => {
  let fs: ReturnType<typeof withBpffs>;
  beforeAll(() => {
    execFileSync('make', ['-s', '-C', ROOT, 'build/bpf/switchyard.o'], { stdio: 'inherit' });
    fs = withBpffs('sy-v6pin');
  });
  afterAll(() => fs?.cleanup());

  it('translates IPv6 in a reopened object, after the first one closed', () => {
    const first = BpfObject.open(OBJ, { pinDir: fs.dir });
    first.map('backends6', layouts.u32, layouts.backend6).set(7, { addr: BACKEND, port: 8080, flags: 0 });
    first.map('slots', layouts.slotKey, layouts.u32).set({ setId: 1, slot: 1, gen: 0 }, 7);
    first
      .map('frontends6', layouts.frontend6Key, layouts.frontend)
      .set(
        { addr: VIP, port: 80, proto: IPPROTO_TCP, scope: SCOPE_INTERNAL },
        { svcId: 1, setId: 1, affinityTimeout: 0, count: 1, gen: 0, flags: 0 },
      );
    const backendHex = Buffer.from('fd000244000100000000000000000021', 'hex').toString('hex');
    expect(translate(first)).toBe(backendHex);
    first.close();

    const second = BpfObject.open(OBJ, { pinDir: fs.dir });
    try {
      expect(translate(second)).toBe(backendHex);
    } finally {
      second.close();
    }
  });
});
