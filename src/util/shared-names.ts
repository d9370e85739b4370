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

const LISTS = new Map<string, readonly unknown[]>();

/**
 * @list as the one frozen list every holder of the same contents shares, @key naming them (two
 * lists with one key must be equal: JSON.stringify of a list of plain data is such a key). An EndpointSlice's ports are one such list: a cluster's
 * slices repeat a few port lists ({http, 8080, TCP}) thousands of times, and each copy was an
 * array and an object per port (~100 bytes) for the agent's life. Bounded as the names are.
 */
export function sharedList<T>(key: string, list: T[]): T[] {
  const known = LISTS.get(key);
  if (known !== undefined) return known as T[];
  if (LISTS.size >= 65_536) LISTS.clear();
  for (const x of list) Object.freeze(x);
  const frozen = Object.freeze(list.slice()) as T[];
  LISTS.set(key, frozen);
  return frozen;
}
