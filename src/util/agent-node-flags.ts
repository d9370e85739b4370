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
// --initial-old-space-size=32: no full GC until the old generation first reaches 32 MiB. Without
// it, V8 starts the limit small and each full GC while the cold start builds the state marks all
// that is built so far (at 1.25×, eight of them when the live heap was ~53 MiB). It is also V8's
// floor for the limit after every full GC, so it must stay below 1.25× the steady live heap or
// it holds the heap at the floor: at 64 MiB (until session 12) the highest RSS of a rolling
// update at 10,000 Services was 148–154 MiB, against 142–145 at 32 and 141–149 without the flag,
// once the live heap had fallen to ~35 MiB (bench/README.md, eleventh round). A small cluster's
// heap reaches 32 MiB before it is collected.
//
// The semi-spaces cannot be set at run time (v8.setFlagsFromString is too late: the heap is
// already sized). The growth can, and was tried at 1.5× until the first full sync and 1.25× after
// it: no faster cold start in three pairs, so one flag it stays.
export const AGENT_NODE_FLAGS: readonly string[] = [
  '--max-semi-space-size=4',
  '--heap-growing-percent=25',
  '--initial-old-space-size=32',
];
