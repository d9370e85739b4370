// The flags node runs the agent with: bin/switchyard (the DaemonSet's command) and the lab pass
// them, and bench/scale.mjs measures with them. test/unit/deploy.test.ts checks bin/switchyard.
//
// --max-semi-space-size=4: under a burst of allocation (the informers' lists and the first full
// sync at 10,000 Services) V8 grows its young generation to its 16 MiB default semi-spaces and
// keeps them committed, and with them the memory reducer did not shrink the heap once the agent
// went idle. With 4 MiB semi-spaces the cold start took as long (1.8–2.3 s against 1.8–2.2) and
// RSS at 10,000 Services fell from ~186 to ~146 MiB once idle (bench/README.md, issue 12).
//
// --heap-growing-percent=25: after each full GC, V8 lets the old generation grow to up to 4× what
// survived before the next one. Under a rolling update (1,000 endpoint changes/s at 10,000
// Services) that was ~345 MiB of RSS for ~85 MiB of live heap. At 1.5× it stayed at ~215 MiB; at
// 1.25× the highest RSS during the update is 155–161 MiB against 168–176 at 1.5× (five runs
// each), with the event-loop lag and the drain unchanged. Whether it costs the cold start is not
// settled (more full GCs while the state is built; at 1.1× it took ~600 ms longer): bench/README.md,
// ninth round, has the pairs.
//
// --initial-old-space-size=64: no full GC until the old generation first reaches 64 MiB. While
// the cold start builds the state (~53 MiB live at 10,000 Services), each full GC at 1.25× marked
// everything built so far: eight of them (at 11, 18, 24, 29, 37, 47, 59 and 79 MiB), against two
// now. In pairs at 10,000 Services the cold start used 2,260–2,550 ms of CPU against 2,400–2,905,
// and took 1,743–2,048 ms (six runs) against 1,839–2,421 (ten). The 64 MiB stays V8's floor for
// the limit after every full GC: at 10,000 Services 1.25× the live heap is above it anyway, but a
// small cluster lets its heap reach 64 MiB before collecting. At 1,000 Services the highest RSS
// of a rolling update rose from 90 to 124 MiB; idle, the memory reducer still takes it to ~72.
//
// The semi-spaces cannot be set at run time (v8.setFlagsFromString is too late: the heap is
// already sized). The growth can, and was tried at 1.5× until the first full sync and 1.25× after
// it: no faster cold start in three pairs, so one flag it stays.
export const AGENT_NODE_FLAGS: readonly string[] = [
  '--max-semi-space-size=4',
  '--heap-growing-percent=25',
  '--initial-old-space-size=64',
];
