// bench/scale's rolling-update writer, in a process of its own so that its requests, buffers and
// garbage are not counted in the agent's event-loop lag and RSS (a real agent has no writer in
// it). 1,000 endpoint changes per second (20 every 20 ms) for <seconds>, at most 64 PUTs in
// flight (a change that would exceed that is not sent, and counted). Prints one JSON line:
// { sent, dropped, last: [[n, v], …] } (the last change written to each Service).
// Arguments: <api url> <services> <seconds>.
import { put } from './scale-put.mjs';

const [url, servicesArg, secondsArg] = process.argv.slice(2);
const SERVICES = Number(servicesArg);
const seconds = Number(secondsArg);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const last = new Map(); // n → last value written
let inFlight = 0;
let sent = 0;
let dropped = 0;
let k = 0;
const started = performance.now();
while (performance.now() - started < seconds * 1000) {
  const tick = performance.now();
  for (let j = 0; j < 20; j++, k++) {
    if (inFlight >= 64) {
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
  await sleep(Math.max(0, 20 - (performance.now() - tick)));
}
while (inFlight > 0) await sleep(1);
console.log(JSON.stringify({ sent, dropped, last: [...last] }));
