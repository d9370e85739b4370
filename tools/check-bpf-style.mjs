#!/usr/bin/env node
// Kernel style for bpf/*.c and bpf/*.h, the parts a reviewer would otherwise point out by hand
// (Documentation/process/coding-style.rst and checkpatch.pl): an SPDX line first; indentation
// by tabs; no trailing white space; lines of at most 100 columns (tabs count 8); /* */ comments
// only; the brace of a function on its own line. clang-format's kernel profile would also
// re-align every #define and comment block, which this code lays out by hand on purpose.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const DIR = process.argv[2] ?? 'bpf';
const MAX_COLS = 100;
const problems = [];
const columns = (line) => line.replace(/\t/g, '        ').length;

for (const name of readdirSync(DIR)
  .filter((n) => /\.[ch]$/.test(n))
  .sort()) {
  const path = join(DIR, name);
  const lines = readFileSync(path, 'utf8').split('\n');
  const say = (i, what) => problems.push(`${path}:${i + 1}: ${what}`);
  if (!/^\/\* SPDX-License-Identifier: .+ \*\/$|^\/\/ SPDX-License-Identifier: /.test(lines[0]))
    say(0, 'the first line must be the SPDX license identifier');
  let inComment = false;
  lines.forEach((line, i) => {
    if (/[ \t]+$/.test(line)) say(i, 'trailing white space');
    if (columns(line) > MAX_COLS) say(i, `${columns(line)} columns (limit ${MAX_COLS})`);
    const code = inComment ? '' : line;
    if (/^ +\S/.test(line) && !inComment && !/^ \*/.test(line))
      say(i, 'indented with spaces; the kernel indents with tabs');
    if (/^\t* +\t/.test(line)) say(i, 'a space before a tab in the indentation');
    if (!inComment && i > 0 && /(^|[^:])\/\/(?!.*\*\/)/.test(code.replace(/"[^"]*"/g, '""')))
      say(i, '// comment; use /* */');
    if (/^(static |__attribute__|int |void |__u\d+ |bool )[^;=]*\)\s*\{\s*$/.test(line))
      say(i, "a function's opening brace goes on its own line");
    const opens = line.lastIndexOf('/*'),
      closes = line.lastIndexOf('*/');
    if (opens > closes) inComment = true;
    else if (closes > opens) inComment = false;
  });
}
if (problems.length > 0) {
  console.error(`bpf style: ${problems.length} problem(s)\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log('bpf style: bpf/ follows the kernel layout rules checked here');
