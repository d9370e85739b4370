// The API-server double for bench/scale.mjs: FakeApiServer preloaded from a JSON file of objects,
// without the state file src/fakeapi/main.ts keeps (it rewrites every object on each change, which
// at 10,000 Services would time the double, not the agent). Arguments: <objects.json> <port>.
import { readFileSync } from 'node:fs';
import { FakeApiServer } from '../dist/fakeapi/server.js';

const [file, port] = process.argv.slice(2);
const api = new FakeApiServer({ host: '127.0.0.1', port: Number(port), historySize: 10_000 });
for (const obj of JSON.parse(readFileSync(file, 'utf8'))) api.apply(obj);
const { url } = await api.start();
process.stdout.write(`${JSON.stringify({ msg: 'bench api server listening', url })}\n`);
process.once('SIGTERM', () => api.stop().then(() => process.exit(0)));
