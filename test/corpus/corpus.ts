// The regression corpus (see README.md): each case's text, what it must produce, and one
// place that runs a case through parse → model → compile as the agent does.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildModel } from '../../src/model/index.js';
import { compile, IdAllocator, type DesiredState, type NodeConfig } from '../../src/compile/index.js';
import { frontendKeyText } from '../../src/compile/compile.js';
import { parseManifest } from '../../src/sources/manifests.js';

export interface CorpusCase {
  file: string;
  text: string | Buffer;
  /** Errors that must be reported, one regex each; nothing else may be. */
  expects: RegExp[];
  /** Frontends ("addr:port/PROTO") that must still be programmed. */
  programs: string[];
  /** Addresses no frontend may use. */
  refuses: string[];
}

const DIR = new URL('.', import.meta.url).pathname;

/** The node the corpus is judged on: the one-node e2e harness's addresses and CIDRs. */
export const CORPUS_NODE: NodeConfig = {
  nodeName: 'node1',
  nodePortAddresses: ['10.250.0.1'],
  externalAddressPolicy: { clusterCidrs: ['10.244.0.0/16'], serviceCidrs: ['10.96.0.0/12'], allowedCidrs: [] },
};
/** The same, as agent flags. */
export const CORPUS_AGENT_FLAGS = ['--cluster-cidr', '10.244.0.0/16', '--service-cluster-ip-range', '10.96.0.0/12'];

function header(text: string, key: string): string[] {
  return [...text.matchAll(new RegExp(`^# ${key}: (.+)$`, 'gm'))].map((m) => m[1].trim());
}

function fromFile(file: string): CorpusCase {
  const text = readFileSync(join(DIR, file), 'utf8');
  return {
    file,
    text,
    expects: header(text, 'expect').map((r) => new RegExp(r)),
    programs: header(text, 'programs'),
    refuses: header(text, 'refuses'),
  };
}

/** mulberry32, so the junk is the same bytes on every machine. */
function junk(seed: number, n: number): Buffer {
  let a = seed;
  return Buffer.from(
    Array.from({ length: n }, () => {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = Math.imul(a ^ (a >>> 15), a | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) & 0xff;
    }),
  );
}

function generated(): CorpusCase[] {
  const ports = Array.from({ length: 2000 }, (_, i) => `    - {name: p${i}, port: ${1000 + i}, targetPort: 8080}`);
  const endpoints = Array.from({ length: 5000 }, (_, i) => `  - addresses: ["10.245.${i >> 8}.${i & 255}"]`);
  return [
    { file: 'junk.yaml', text: junk(7, 4096), expects: [/not valid YAML/], programs: [], refuses: [] },
    {
      file: 'many-ports.yaml',
      expects: [],
      refuses: [],
      programs: ['10.96.201.1:1000/TCP', '10.96.201.1:2999/TCP'],
      text: `apiVersion: v1\nkind: Service\nmetadata: {name: many-ports, namespace: default}\nspec:\n  clusterIP: 10.96.201.1\n  ports:\n${ports.join('\n')}\n`,
    },
    {
      file: 'huge-slice.yaml',
      expects: [],
      refuses: [],
      programs: ['10.96.201.2:80/TCP'],
      text:
        `apiVersion: v1\nkind: Service\nmetadata: {name: huge, namespace: default}\nspec:\n  clusterIP: 10.96.201.2\n  ports: [{name: http, port: 80}]\n---\n` +
        `apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: huge-1, namespace: default, labels: {kubernetes.io/service-name: huge}}\n` +
        `addressType: IPv4\nports: [{name: http, port: 8080, protocol: TCP}]\nendpoints:\n${endpoints.join('\n')}\n`,
    },
  ];
}

export function corpusCases(): CorpusCase[] {
  const files = readdirSync(DIR)
    .filter((f) => f.endsWith('.yaml'))
    .sort();
  return [...files.map(fromFile), ...generated()];
}

/** What the agent would report and program for one case on CORPUS_NODE. */
export function judge(c: CorpusCase): { errors: string[]; desired: DesiredState; frontends: string[] } {
  const text = Buffer.isBuffer(c.text) ? c.text.toString('latin1') : c.text;
  const parsed = parseManifest(text, c.file);
  const errors: string[] = [];
  const empty = { services: [], endpointSlices: [], nodes: [] };
  const objects = 'error' in parsed ? empty : parsed;
  if ('error' in parsed) errors.push(`${c.file}: ${parsed.error}`);
  else errors.push(...parsed.notes.map((n) => `${n.origin}: ${n.message}`));
  const { model, errors: invalid } = buildModel({ ...objects, errors: [] });
  const desired = compile(model, CORPUS_NODE, new IdAllocator());
  errors.push(...[...invalid, ...desired.conflicts, ...desired.refused].map((e) => e.describe()));
  return { errors, desired, frontends: [...new Set(desired.frontends.map((f) => frontendKeyText(f.key)))] };
}
