// A V8 CPU profile of this process from the call on, through the inspector. node's own --cpu-prof
// runs during the BPF load, and its SIGPROF makes the verifier give up with EAGAIN, so the
// benches that load the object start it afterwards. Read the file with Chrome's DevTools or
// `npx speedscope`.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Starts profiling; the returned function stops and writes DIR/NAME-PID.cpuprofile. */
export async function startProfile(dir, name) {
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${name}-${process.pid}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  };
}
