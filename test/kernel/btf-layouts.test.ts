// The TS mirror of bpf/switchyard.h against the BTF of the compiled objects: every struct's size and
// every field's offset and size (src/abi/layouts.ts), and every enum value (src/abi/constants.ts), by
// C name. test_counter.o carries every switchyard.h struct (one map per struct) and enum (the header's
// sy_abi_enums) so this runs even before switchyard.o exists; switchyard.o is checked when built.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import type { StructCodec } from '../../src/bpf/codec.js';
import { C_NAMES } from '../../src/abi/constants.js';
import { allStructs } from '../../src/abi/layouts.js';
import { sockStructs } from '../../src/abi/sock.js';
import { describeRoot } from '../lib/root.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const TEST_OBJ = join(ROOT, 'build/bpf/test_counter.o');
const DATAPATH_OBJ = join(ROOT, 'build/bpf/switchyard.o');
const SOCK_OBJ = join(ROOT, 'build/bpf/sock.o');

interface BtfType {
  id: number;
  kind: string;
  name: string;
  size?: number;
  type_id?: number;
  nr_elems?: number;
  members?: Array<{ name: string; type_id: number; bits_offset: number; bitfield_size?: number }>;
  values?: Array<{ name: string; val: number }>;
}

class Btf {
  private readonly byId = new Map<number, BtfType>();
  constructor(readonly file: string) {
    const json = JSON.parse(
      execFileSync('bpftool', ['btf', 'dump', 'file', file, '-j'], { encoding: 'utf8', maxBuffer: 64 << 20 }),
    ) as { types: BtfType[] };
    for (const t of json.types) this.byId.set(t.id, t);
  }
  struct(name: string): BtfType | undefined {
    for (const t of this.byId.values()) if (t.kind === 'STRUCT' && t.name === name) return t;
    return undefined;
  }
  enumValues(name: string): Map<string, number> | undefined {
    for (const t of this.byId.values()) {
      if ((t.kind === 'ENUM' || t.kind === 'ENUM64') && t.name === name)
        return new Map(t.values!.map((v) => [v.name, Number(v.val)]));
    }
    return undefined;
  }
  sizeOf(id: number): number {
    const t = this.byId.get(id);
    if (!t) throw new Error(`${this.file}: BTF type ${id} missing`);
    switch (t.kind) {
      case 'INT':
      case 'STRUCT':
      case 'UNION':
      case 'ENUM':
      case 'ENUM64':
        return t.size!;
      case 'TYPEDEF':
      case 'VOLATILE':
      case 'CONST':
      case 'RESTRICT':
      case 'TYPE_TAG':
        return this.sizeOf(t.type_id!);
      case 'ARRAY':
        return t.nr_elems! * this.sizeOf(t.type_id!);
      case 'PTR':
        return 8;
      default:
        throw new Error(`${this.file}: no size for BTF kind ${t.kind}`);
    }
  }
}

/** Every difference between a codec and the BTF struct, as readable lines. */
function drift(btf: Btf, codec: StructCodec<unknown>): string[] {
  const s = btf.struct(codec.cName);
  if (!s) return [`struct ${codec.cName}: not in ${btf.file}`];
  const out: string[] = [];
  if (s.size !== codec.size) out.push(`struct ${codec.cName}: size ${s.size} in BTF, ${codec.size} in the codec`);
  const members = new Map(s.members!.map((m) => [m.name, m]));
  for (const f of codec.fields) {
    const m = members.get(f.cName);
    if (!m) {
      out.push(`struct ${codec.cName}: field ${f.cName} is not in the C struct`);
      continue;
    }
    members.delete(f.cName);
    const off = m.bits_offset / 8,
      size = m.bitfield_size ? m.bitfield_size / 8 : btf.sizeOf(m.type_id);
    if (off !== f.offset)
      out.push(`struct ${codec.cName}: field ${f.cName} at offset ${off} in BTF, ${f.offset} in the codec`);
    if (size !== f.size)
      out.push(`struct ${codec.cName}: field ${f.cName} is ${size} bytes in BTF, ${f.size} in the codec`);
    if (f.struct) out.push(...drift(btf, f.struct));
  }
  for (const name of members.keys()) out.push(`struct ${codec.cName}: field ${name} is missing from the codec`);
  return out;
}

/** Every difference between the TS constants of each C enum and the enum in the BTF, both ways: a
 *  value that differs, a constant the enum lacks, and an enumerator with no TS constant. */
function enumDrift(btf: Btf, mirror: Readonly<Record<string, Readonly<Record<string, number>>>>): string[] {
  const out: string[] = [];
  for (const [enumName, constants] of Object.entries(mirror)) {
    const inBtf = btf.enumValues(enumName);
    if (!inBtf) {
      out.push(`enum ${enumName}: not in ${btf.file}`);
      continue;
    }
    for (const [name, value] of Object.entries(constants)) {
      const c = inBtf.get(name);
      if (c === undefined) out.push(`${name}: ${value} in src/abi/constants.ts, not in enum ${enumName}`);
      else if (c !== value) out.push(`${name}: ${c} in BTF (enum ${enumName}), ${value} in src/abi/constants.ts`);
    }
    for (const [name, c] of inBtf) {
      if (!(name in constants)) out.push(`${name}: ${c} in BTF (enum ${enumName}), missing from src/abi/constants.ts`);
    }
  }
  return out;
}

describeRoot('map layouts: TS codecs match the BTF of the BPF objects', () => {
  beforeAll(() => {
    execFileSync('make', ['-s', '-C', ROOT, 'build/bpf/test_counter.o'], { stdio: 'pipe' });
  });

  it('every struct of switchyard.h in test_counter.o', () => {
    const btf = new Btf(TEST_OBJ);
    const problems = Object.values(allStructs).flatMap((c) => drift(btf, c as StructCodec<unknown>));
    expect(problems).toEqual([]);
  });

  it.skipIf(!existsSync(DATAPATH_OBJ))('every struct that switchyard.o uses', () => {
    const btf = new Btf(DATAPATH_OBJ);
    const present = Object.values(allStructs).filter((c) => btf.struct(c.cName));
    expect(present.length).toBeGreaterThan(0);
    expect(present.flatMap((c) => drift(btf, c as StructCodec<unknown>))).toEqual([]);
  });

  it('every struct of sock.h (the socket-LB maps) in sock.o', () => {
    execFileSync('make', ['-s', '-C', ROOT, 'build/bpf/sock.o'], { stdio: 'pipe' });
    const btf = new Btf(SOCK_OBJ);
    expect(Object.values(sockStructs).flatMap((c) => drift(btf, c as StructCodec<unknown>))).toEqual([]);
  });

  it('every enum constant of switchyard.h in test_counter.o', () => {
    expect(enumDrift(new Btf(TEST_OBJ), C_NAMES)).toEqual([]);
  });

  it.skipIf(!existsSync(DATAPATH_OBJ))('every enum constant of switchyard.h in switchyard.o', () => {
    expect(enumDrift(new Btf(DATAPATH_OBJ), C_NAMES)).toEqual([]);
  });

  it('detects enum drift, naming the constant and both values', () => {
    const btf = new Btf(TEST_OBJ);
    const wrong = {
      ...C_NAMES,
      sy_capacity: { ...C_NAMES.sy_capacity, SY_MAX_SERVICES: 65535 },
      sy_scope: { SY_SCOPE_INTERNAL: 0 },
      sy_gone: { SY_GONE: 1 },
    };
    expect(enumDrift(btf, wrong)).toEqual([
      'SY_SCOPE_EXTERNAL: 1 in BTF (enum sy_scope), missing from src/abi/constants.ts',
      'SY_MAX_SERVICES: 65536 in BTF (enum sy_capacity), 65535 in src/abi/constants.ts',
      `enum sy_gone: not in ${TEST_OBJ}`,
    ]);
  });

  it('detects drift, naming the struct and field', () => {
    const btf = new Btf(TEST_OBJ);
    const wrong = {
      ...allStructs.ctEntry,
      fields: allStructs.ctEntry.fields.map((f) => (f.cName === 'svc_id' ? { ...f, offset: 28 } : f)),
    };
    expect(drift(btf, wrong)).toEqual(['struct sy_ct_entry: field svc_id at offset 24 in BTF, 28 in the codec']);
  });
});
