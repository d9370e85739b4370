// Frontend key → the Services asking for it, for the incremental compiler: when a Service's asks
// change, the other claimants of its keys are recompiled too (the first Service by claim order
// keeps a frontend two of them ask for).

/** Nearly always one Service asks for a key, so that one Service's key is kept as it is, and an
 *  array only for two or more (a Set's table is ~700 bytes, an array of one 56; one per frontend
 *  key at 10,000 Services). */
export class Claimants {
  private readonly byKey = new Map<string, string | string[]>();

  /** The Services asking for frontend key @k. */
  of(k: string): readonly string[] {
    const v = this.byKey.get(k);
    return v === undefined ? [] : typeof v === 'string' ? [v] : v;
  }

  claim(k: string, svcKey: string): void {
    const list = this.of(k);
    if (list.length === 0) this.byKey.set(k, svcKey);
    else if (!list.includes(svcKey)) this.byKey.set(k, list.concat(svcKey)); // exact length
  }

  unclaim(k: string, svcKey: string): void {
    const list = this.of(k).filter((s) => s !== svcKey);
    if (list.length === 0) this.byKey.delete(k);
    else this.byKey.set(k, list.length === 1 ? list[0]! : list.slice()); // exact: filter leaves room
  }

  clear(): void {
    this.byKey.clear();
  }
}
