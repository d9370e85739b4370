// One manifest file's text → the objects it holds (Services, EndpointSlices, Endpoints, Nodes,
// Lists of them), or why it is not YAML. Two parsers, one result:
//
//   - js-yaml reads every file without anchors or aliases: about 8× faster than `yaml` on a
//     10,000-Service directory, where parsing was the agent's whole cold start (bench/README.md).
//   - `yaml` reads the rest: its maxAliasCount bounds a billion-laughs document (js-yaml would
//     hand back a shared graph that every later walk expands); and every file js-yaml refuses, so
//     the error a user sees is always `yaml`'s, with line and column.
//
// Both use YAML 1.2's core schema (no timestamps, no `<<` merge, no !!binary), so a file gives the
// same objects whichever reads it; test/unit/manifest-parse.test.ts compares them over every
// manifest in the repository. The two differ only on scalars no Kubernetes field takes
// (`0b101` is a number to js-yaml, `+.5` a string), and the anchor check errs towards `yaml`.
import jsYaml from 'js-yaml';
import { parseAllDocuments } from 'yaml';
import type { SourceError, SourcedObject } from './types.js';

/** The objects one manifest file holds, by kind, and notes on what it ignored. */
export interface ManifestObjects {
  services: SourcedObject[];
  endpointSlices: SourcedObject[];
  /** v1 Endpoints: mirrored into endpointSlices (model/mirror.ts) once all files are read. */
  endpoints: SourcedObject[];
  nodes: SourcedObject[];
  notes: SourceError[];
}

export function objectCount(p: ManifestObjects): number {
  return p.services.length + p.endpointSlices.length + p.endpoints.length + p.nodes.length;
}

/** One file's text → its objects, or why it is not YAML (first error, with line and column). */
export function parseManifest(text: string, origin: string): ManifestObjects | { error: string } {
  if (!hasAnchorOrAlias(text)) {
    const fast = parseFast(text, origin);
    if (fast) return fast;
  }
  return parseSafe(text, origin);
}

/** `&name` or `*name` where YAML could read an anchor or alias (also inside quotes: then `yaml`
 *  parses a file js-yaml could have, which costs time, never a different result). */
const ANCHOR_OR_ALIAS = /(?:^|[\s,[{])[&*][^\s,[\]{}]/;

export function hasAnchorOrAlias(text: string): boolean {
  return ANCHOR_OR_ALIAS.test(text);
}

/** js-yaml's reading, or undefined when it refuses the text (`yaml` then says why). Exported for
 *  test/unit/manifest-parse.test.ts, which holds the two readers to one result. */
export function parseFast(text: string, origin: string): ManifestObjects | undefined {
  let docs: unknown[];
  try {
    docs = jsYaml.loadAll(text, undefined, { schema: jsYaml.CORE_SCHEMA });
  } catch {
    return undefined;
  }
  const out = emptyObjects();
  docs.forEach((value, i) => {
    collect(value, `document ${i + 1}`, origin, out);
  });
  return out;
}

function emptyObjects(): ManifestObjects {
  return { services: [], endpointSlices: [], endpoints: [], nodes: [], notes: [] };
}

/** `yaml`'s reading: aliases bounded, errors with line and column. */
export function parseSafe(text: string, origin: string): ManifestObjects | { error: string } {
  const docs = parseAllDocuments(text, { prettyErrors: true });
  const problems = 'empty' in docs ? docs.errors : docs.flatMap((d) => d.errors);
  if (problems.length > 0) {
    const first = problems[0];
    const where = first.linePos ? `line ${first.linePos[0].line}, column ${first.linePos[0].col}: ` : '';
    const what = first.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
    return { error: `not valid YAML: ${where}${what}` };
  }
  const out = emptyObjects();
  if ('empty' in docs) return out;
  docs.forEach((doc, i) => {
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      out.notes.push({ origin, message: `document ${i + 1}: ${(err as Error).message}; ignored` });
      return;
    }
    collect(value, `document ${i + 1}`, origin, out);
  });
  return out;
}

function collect(value: unknown, where: string, origin: string, out: ManifestObjects): void {
  if (value === null || value === undefined) return; // empty document (a trailing ---)
  if (typeof value !== 'object' || Array.isArray(value)) {
    out.notes.push({
      origin,
      message: `${where}: not a Kubernetes object (a ${Array.isArray(value) ? 'list' : typeof value}); ignored`,
    });
    return;
  }
  const obj = value as Record<string, unknown>;
  switch (obj.kind) {
    case 'Service':
      out.services.push({ object: obj, origin });
      break;
    case 'EndpointSlice':
      out.endpointSlices.push({ object: obj, origin });
      break;
    case 'Endpoints':
      out.endpoints.push({ object: obj, origin });
      break;
    case 'Node':
      out.nodes.push({ object: obj, origin });
      break;
    case 'List':
    case 'ServiceList':
    case 'EndpointSliceList':
    case 'EndpointsList':
    case 'NodeList': {
      const items = Array.isArray(obj.items) ? obj.items : [];
      const itemKind = obj.kind === 'List' ? undefined : obj.kind.slice(0, -4);
      items.forEach((item, j) => {
        // Typed lists (kubectl get -o yaml of one kind) may omit each item's kind.
        const it =
          itemKind && item && typeof item === 'object' && !Array.isArray(item) && !('kind' in item)
            ? { kind: itemKind, ...item }
            : item;
        collect(it, `${where} item ${j + 1}`, origin, out);
      });
      break;
    }
    case undefined:
    case null:
    case '':
      out.notes.push({ origin, message: `${where}: has no kind; ignored` });
      break;
    default:
      break; // Deployments and friends live alongside; not ours
  }
}
