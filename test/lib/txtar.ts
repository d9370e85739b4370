// txtar archives (golang.org/x/tools/txtar), as Cilium's loadbalancer testdata uses: a free-text
// comment, then files, each introduced by a line "-- name --".
export interface Txtar {
  comment: string;
  files: Array<{ name: string; data: string }>;
}

const MARKER = /^-- (.+) --$/;

export function parseTxtar(text: string): Txtar {
  const lines = text.split('\n');
  const out: Txtar = { comment: '', files: [] };
  let current: string[] = [];
  let name: string | undefined;
  const flush = () => {
    const data = current.join('\n');
    if (name === undefined) out.comment = data;
    else out.files.push({ name, data });
  };
  for (const line of lines) {
    const m = MARKER.exec(line);
    if (!m) {
      current.push(line);
      continue;
    }
    flush();
    name = m[1];
    current = [];
  }
  flush();
  // Each file's data ends with its newline; the split left an empty last element instead.
  for (const f of out.files) f.data = f.data.replace(/\n?$/, '\n');
  out.comment = out.comment.replace(/\n?$/, '\n');
  return out;
}

export function formatTxtar(a: Txtar): string {
  return a.comment + a.files.map((f) => `-- ${f.name} --\n${f.data}`).join('');
}
