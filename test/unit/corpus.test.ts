// The regression corpus (test/corpus): every hostile or broken object produces exactly the
// errors it states, naming file, object and field, and what it still programs is programmed.
import { describe, expect, it } from 'vitest';
import { corpusCases, judge } from '../corpus/corpus.js';

describe('regression corpus', () => {
  for (const c of corpusCases()) {
    it(`${c.file}: ${c.expects.length === 0 ? 'accepted' : `${c.expects.length} error(s)`}`, () => {
      const { errors, frontends } = judge(c);
      for (const want of c.expects)
        expect(
          errors.some((e) => want.test(e)),
          `no error matches ${want}; got:\n${errors.join('\n')}`,
        ).toBe(true);
      for (const e of errors)
        expect(
          c.expects.some((want) => want.test(e)),
          `unexpected error: ${e}`,
        ).toBe(true);
      for (const e of errors) expect(e.startsWith(`${c.file}:`), `error does not name the file: ${e}`).toBe(true);
      for (const fe of c.programs) expect(frontends).toContain(fe);
      for (const addr of c.refuses) expect(frontends.filter((f) => f.startsWith(`${addr}:`))).toEqual([]);
    });
  }
});
