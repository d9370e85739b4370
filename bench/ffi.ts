// FFI cost of the typed libbpf layer, and single vs batched map writes.
//
//   sudo make bpf && npx tsc bench/ffi.ts --outDir build/bench --rootDir . --module nodenext \
//     --moduleResolution nodenext --target es2022 --skipLibCheck && node build/bench/bench/ffi.js
//
// Needs root (it loads build/bpf/test_counter.o; no pins, no attachment, no traffic).
import { BpfObject, silenceLibbpf, u32, u64 } from '../src/bpf/index.js';
import * as ffi from '../src/bpf/ffi.js';
import { frontend, frontendKey } from '../src/abi/layouts.js';
import type { Frontend, FrontendKey } from '../src/abi/index.js';

// Run from the repository root (or point SY_BENCH_OBJECT at the object).
const OBJ = process.env.SY_BENCH_OBJECT ?? `${process.cwd()}/build/bpf/test_counter.o`;

function time(n: number, fn: () => void): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  return Number(process.hrtime.bigint() - t0) / n / 1000; // µs per call
}

function perCall(name: string, n: number, fn: () => void): void {
  time(Math.min(n, 2000), fn); // warm up
  console.log(`  ${name.padEnd(44)} ${time(n, fn).toFixed(2).padStart(7)} µs/call`);
}

function rate(n: number, fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return n / (Number(process.hrtime.bigint() - t0) / 1e9);
}

const fmt = (r: number) => `${Math.round(r).toLocaleString('en-US').padStart(11)} entries/s`;

function main(): void {
  if (process.getuid?.() !== 0) throw new Error('bench/ffi: needs root (loads a BPF object)');
  silenceLibbpf();
  const obj = BpfObject.open(OBJ);
  try {
    console.log(`FFI cost per call (${process.version}, ffi-rs load(), libbpf.so.1)`);
    const big = obj.map('big', u32, u64);
    big.set(1, 42n);
    const key = Buffer.alloc(4),
      val = Buffer.alloc(8);
    key.writeUInt32LE(1, 0);
    perCall('libbpf_major_version() (no arguments)', 200_000, () => ffi.noop());
    perCall('bpf_map_lookup_elem (raw buffers)', 100_000, () => ffi.mapLookupElem(big.fd, key, val));
    perCall('bpf_map_update_elem (raw buffers)', 100_000, () => ffi.mapUpdateElem(big.fd, key, val, 0));
    perCall('TypedMap.get (u32 -> u64, with codecs)', 100_000, () => big.get(1));
    perCall('TypedMap.set (u32 -> u64, with codecs)', 100_000, () => big.set(1, 7n));
    big.clear();

    const bench = obj.map('bench', frontendKey, frontend);
    console.log(
      `\nMap writes: 'bench' HASH sy_frontend_key -> sy_frontend (${frontendKey.size}+${frontend.size} bytes), max ${bench.maxEntries}`,
    );
    for (const n of [10_000, 100_000]) {
      const entries: Array<[FrontendKey, Frontend]> = [];
      for (let i = 0; i < n; i++) {
        entries.push([
          { addr: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, port: 80 + (i % 7), proto: 6, scope: 0 },
          { svcId: i, setId: i, affinityTimeout: 0, count: 3, gen: 0, flags: 0 },
        ]);
      }
      bench.clear();
      const single = rate(n, () => {
        for (const [k, v] of entries) bench.set(k, v);
      });
      const scratch = Buffer.alloc(frontendKey.size + frontend.size);
      const encode = rate(n, () => {
        for (const [k, v] of entries) {
          frontendKey.encode(k, scratch, 0);
          frontend.encode(v, scratch, frontendKey.size);
        }
      });
      bench.clear();
      const batched = rate(n, () => bench.setMany(entries));
      let read = 0;
      const readRate = rate(n, () => {
        read = bench.entries().length;
      });
      if (read !== n) throw new Error(`read back ${read} of ${n}`);
      const del = rate(n, () => bench.deleteMany(entries.map(([k]) => k)));
      console.log(
        `  ${String(n).padStart(7)} entries: set() one by one ${fmt(single)}; setMany ${fmt(batched)}  => ${(batched / single).toFixed(1)}x`,
      );
      console.log(
        `  ${' '.repeat(17)}entries() ${fmt(readRate)}; deleteMany ${fmt(del)}; codec encode alone ${fmt(encode)}`,
      );
    }
  } finally {
    obj.close();
  }
}

main();
