// Does the compiled data path have a program? Read from the object's ELF symbol table, so the
// lab can tell without loading anything into the kernel: a BPF program is a FUNC symbol in a
// section of its own (SEC("tc"), SEC("xdp"), ...), not in .text where subprograms live.
import { readFileSync } from 'node:fs';

const SHT_SYMTAB = 2;
const STT_FUNC = 2;

export function programsIn(path: string): string[] {
  const b = readFileSync(path);
  if (b.length < 64 || b.readUInt32BE(0) !== 0x7f454c46 || b[4] !== 2 || b[5] !== 1) {
    throw new Error(`${path}: not a little-endian ELF64 object`);
  }
  const shoff = Number(b.readBigUInt64LE(0x28));
  const shentsize = b.readUInt16LE(0x3a);
  const shnum = b.readUInt16LE(0x3c);
  const shstrndx = b.readUInt16LE(0x3e);
  const sh = (i: number) => {
    const o = shoff + i * shentsize;
    return {
      name: b.readUInt32LE(o),
      type: b.readUInt32LE(o + 4),
      offset: Number(b.readBigUInt64LE(o + 24)),
      size: Number(b.readBigUInt64LE(o + 32)),
      link: b.readUInt32LE(o + 40),
      entsize: Number(b.readBigUInt64LE(o + 56)),
    };
  };
  const str = (table: { offset: number }, at: number) => {
    const start = table.offset + at;
    return b.toString('latin1', start, b.indexOf(0, start));
  };
  const shstr = sh(shstrndx);
  const out: string[] = [];
  for (let i = 0; i < shnum; i++) {
    const s = sh(i);
    if (s.type !== SHT_SYMTAB || !s.entsize) continue;
    const strtab = sh(s.link);
    for (let o = s.offset; o + s.entsize <= s.offset + s.size; o += s.entsize) {
      const info = b[o + 4];
      const shndx = b.readUInt16LE(o + 6);
      if ((info & 0xf) !== STT_FUNC || shndx === 0 || shndx >= shnum) continue;
      if (str(shstr, sh(shndx).name) === '.text') continue;
      out.push(str(strtab, b.readUInt32LE(o)));
    }
  }
  return out;
}

export function hasProgram(path: string, name: string): boolean {
  try {
    return programsIn(path).includes(name);
  } catch {
    return false;
  }
}

const SHT_REL = 9;

/** The symbols the object's code refers to through relocations: for a BPF object, the maps its
 *  programs look up (a map only declared, as an ABI lands before the code using it, has none). */
export function referencedSymbols(path: string): Set<string> {
  const b = readFileSync(path);
  const shoff = Number(b.readBigUInt64LE(0x28));
  const shentsize = b.readUInt16LE(0x3a);
  const shnum = b.readUInt16LE(0x3c);
  const at = (i: number) => shoff + i * shentsize;
  const out = new Set<string>();
  for (let i = 0; i < shnum; i++) {
    if (b.readUInt32LE(at(i) + 4) !== SHT_REL) continue;
    // Only relocations of code (SHF_EXECINSTR): BTF and .maps relocate every map symbol.
    const target = b.readUInt32LE(at(i) + 44);
    if (!(b.readBigUInt64LE(at(target) + 8) & 4n)) continue;
    const offset = Number(b.readBigUInt64LE(at(i) + 24));
    const size = Number(b.readBigUInt64LE(at(i) + 32));
    const symtab = b.readUInt32LE(at(i) + 40);
    const symOff = Number(b.readBigUInt64LE(at(symtab) + 24));
    const strtab = b.readUInt32LE(at(symtab) + 40);
    const strOff = Number(b.readBigUInt64LE(at(strtab) + 24));
    for (let o = offset; o + 16 <= offset + size; o += 16) {
      const sym = Number(b.readBigUInt64LE(o + 8) >> 32n);
      const name = b.readUInt32LE(symOff + sym * 24);
      out.add(b.toString('latin1', strOff + name, b.indexOf(0, strOff + name)));
    }
  }
  return out;
}

/** Whether the data path serves IPv6 Services: some program looks up frontends6. */
export function servesIpv6(path: string): boolean {
  try {
    return referencedSymbols(path).has('frontends6');
  } catch {
    return false;
  }
}
