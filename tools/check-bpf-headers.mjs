#!/usr/bin/env node
// Fails when a BPF object's dependency list names a userspace libc header.
//
// The BPF objects must build from the kernel's UAPI headers and libbpf's headers alone: a
// glibc header under -target bpf drags in gnu/stubs-32.h, which only a multilib package
// ships, so the build would work on one machine and fail on a fresh one. The check takes the
// dependency list of the exact build command (clang -M, with -MG so a header that is missing
// here still shows up by name) and, for any libc header in it, prints the include chain
// (from clang -H) that brought it in.
//
// usage: check-bpf-headers.mjs CLANG "CFLAGS" SRC...
import { spawnSync } from 'node:child_process';

const [clang, cflags, ...srcs] = process.argv.slice(2);
if (!clang || srcs.length === 0) {
  console.error('usage: check-bpf-headers.mjs CLANG "CFLAGS" SRC...');
  process.exit(2);
}
const flags = cflags.split(/\s+/).filter(Boolean);

// /usr/include/{sys,bits,gnu}/… and /usr/include/<multiarch>/{sys,bits,gnu}/…
const LIBC = /^\/usr\/include\/(?:[^/]+-linux-gnu[^/]*\/)?(?:sys|bits|gnu)\//;

/** The headers the build command depends on, from clang -M -MG. */
function dependencies(src) {
  const r = spawnSync(clang, [...flags, '-M', '-MG', src], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${clang} -M ${src} failed:\n${r.stderr}`);
  return r.stdout
    .replace(/\\\n/g, ' ')
    .split(/\s+/)
    .slice(1) // "target.o:"
    .filter(Boolean);
}

/**
 * The include tree from clang -H: one line per header, as many leading dots as its depth.
 * Returns, for each libc header, the chain of includes from the source to it.
 */
function chains(src) {
  const r = spawnSync(clang, [...flags, '-E', '-H', src, '-o', '/dev/null'], { encoding: 'utf8' });
  const stack = [src];
  const found = [];
  for (const line of r.stderr.split('\n')) {
    const m = /^(\.+) (.+)$/.exec(line);
    if (!m) continue;
    const depth = m[1].length;
    stack.length = depth;
    stack[depth] = m[2];
    if (LIBC.test(m[2])) found.push(stack.slice(0, depth + 1));
  }
  return found;
}

let failed = false;
for (const src of srcs) {
  const bad = dependencies(src).filter((h) => LIBC.test(h));
  if (bad.length === 0) continue;
  failed = true;
  const named = bad.slice(0, 3).join(', ') + (bad.length > 3 ? `, and ${bad.length - 3} more` : '');
  console.error(
    `${src}: includes userspace libc headers (${named}); BPF code may use only kernel UAPI and libbpf headers.`,
  );
  const seen = new Set();
  for (const chain of chains(src)) {
    const first = chain.findIndex((h) => LIBC.test(h));
    const text = chain.slice(0, first + 1).join('\n    -> ');
    if (seen.has(text)) continue;
    seen.add(text);
    console.error(`  include chain:\n    ${text}`);
  }
}
if (failed) {
  console.error('Define the few types you need locally instead (see struct sy_icmphdr in bpf/reject.h).');
  process.exit(1);
}
console.log(`bpf headers: ${srcs.length} object(s) use only UAPI and libbpf headers`);
