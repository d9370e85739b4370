// bench/scale's rolling-update writer, in a process of its own so that its requests, buffers and
// garbage are not counted in the agent's event-loop lag and RSS (a real agent has no writer in
// it). 1,000 endpoint changes per second (paced by the clock) for <seconds>, at most 256 PUTs in
// flight (a change that would exceed that is not sent, and counted). Prints one JSON line:
// { sent, dropped, last: [[n, v], …] } (the last change written to each Service).
// Arguments: <api url> <services> <seconds>.
import { put } from './scale-put.mjs';

const [url, servicesArg, secondsArg] = process.argv.slice(2);
const SERVICES = Number(servicesArg);
const seconds = Number(secondsArg);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const last = new Map(); // n → last value written
/** PUTs outstanding at most: 64 dropped ~2% of the changes whenever the double's answers slowed for
 *  a moment (a GC, a sync holding the CPU), so the agent was offered fewer than 1,000 a second. */
const MAX_IN_FLIGHT = 256;
let inFlight = 0;
let sent = 0;
let dropped = 0;
let k = 0;
const started = performance.now();
// Paced by the clock, not by a fixed sleep per batch: on a busy machine a tick takes longer than its
// 20 ms, and counting ticks offered ~850 changes/s instead of 1,000. Each wake-up sends every change
// due by now (change k is due at k ms).
for (let now = 0; now < seconds * 1000; now = performance.now() - started) {
  for (; k < now; k++) {
    if (inFlight >= MAX_IN_FLIGHT) {
      dropped++;
      continue;
    }
    const n = (k * 7919) % SERVICES;
    const v = 50 + (k % 50);
    inFlight++;
    sent++;
    put(url, n, v).then(
      () => {
        last.set(n, v);
        inFlight--;
      },
      (err) => {
        console.error(err);
        process.exit(1);
      },
    );
  }
  await sleep(5);
}
while (inFlight > 0) await sleep(1);
console.log(JSON.stringify({ sent, dropped, last: [...last] }));
process.exit(0); // the kept-alive connections would hold the process open
