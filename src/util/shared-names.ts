// Node and zone names, one string each. JSON.parse makes a new string for every value, and a real
// cluster's node names (ip-10-0-12-34.eu-west-1.compute.internal) are ~56 bytes on each of
// 100,000 endpoints at 10,000 Services × 10; a cluster has only as many distinct ones as it has
// nodes and zones. Bounded all the same: past 65,536 names the table starts over.
const NAMES = new Map<string, string>();

/** @v as the one string every holder of that name shares. */
export function sharedName(v: string): string {
  const known = NAMES.get(v);
  if (known !== undefined) return known;
  if (NAMES.size >= 65_536) NAMES.clear();
  NAMES.set(v, v);
  return v;
}
