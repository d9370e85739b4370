// Label and field selectors as the API server parses them, enough for what proxies send:
// `key`, `!key`, `key=v`, `key==v`, `key!=v`, `key in (a,b)`, `key notin (a,b)`, joined by commas.
// Field selectors: `metadata.name` and `metadata.namespace` with =, ==, !=.

export type Labels = Record<string, string> | undefined;
type Requirement = (labels: Record<string, string>) => boolean;

export class SelectorError extends Error {}

/** Splits on commas that are not inside parentheses. */
function splitTerms(selector: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of selector) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      terms.push(cur);
      cur = '';
    } else {
      cur += ch;
    }
  }
  terms.push(cur);
  return terms.map((t) => t.trim()).filter((t) => t !== '');
}

function parseTerm(term: string): Requirement {
  let m: RegExpMatchArray | null;
  if ((m = term.match(/^!\s*([\w./-]+)$/))) {
    const key = m[1];
    return (l) => !(key in l);
  }
  if ((m = term.match(/^([\w./-]+)\s*(==|=|!=)\s*([\w./-]*)$/))) {
    const [, key, op, value] = m;
    return op === '!=' ? (l) => l[key] !== value : (l) => l[key] === value;
  }
  if ((m = term.match(/^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/))) {
    const [, key, op, list] = m;
    const values = new Set(list.split(',').map((v) => v.trim()));
    return op === 'in' ? (l) => key in l && values.has(l[key]) : (l) => !(key in l) || !values.has(l[key]);
  }
  if ((m = term.match(/^([\w./-]+)$/))) {
    const key = m[1];
    return (l) => key in l;
  }
  throw new SelectorError(`unable to parse requirement: ${JSON.stringify(term)}`);
}

/** Compiles a label selector; an empty or missing one matches everything. */
export function labelSelector(selector: string | null | undefined): (labels: Labels) => boolean {
  const reqs = splitTerms(selector ?? '').map(parseTerm);
  return (labels) => reqs.every((r) => r(labels ?? {}));
}

/** Compiles a field selector over metadata.name / metadata.namespace. */
export function fieldSelector(
  selector: string | null | undefined,
): (meta: { name?: string; namespace?: string }) => boolean {
  const reqs = splitTerms(selector ?? '').map((term) => {
    const m = term.match(/^(metadata\.name|metadata\.namespace)\s*(==|=|!=)\s*(.*)$/);
    if (!m) throw new SelectorError(`field label not supported: ${JSON.stringify(term)}`);
    const [, field, op, value] = m;
    const get = (meta: { name?: string; namespace?: string }) =>
      (field === 'metadata.name' ? meta.name : meta.namespace) ?? '';
    return op === '!='
      ? (meta: { name?: string; namespace?: string }) => get(meta) !== value
      : (meta: { name?: string; namespace?: string }) => get(meta) === value;
  });
  return (meta) => reqs.every((r) => r(meta));
}
