// The comparison shared by the differential tests (test/*-differential.test.ts):
// what a backend saw through postern and through a reference server, key by
// key, where each accepted difference is an entry of the test's
// KNOWN_DIFFERENCES table.

/** The key is not there at all. */
export const UNSET = "(unset)";
/** Any value, as long as the key is there. */
export const ANY = "(any value)";

/** Whether a value fits a KNOWN_DIFFERENCES pattern: exact, UNSET or ANY. */
export function matches(pattern: string, value: string | undefined): boolean {
  if (pattern === UNSET) return value === undefined;
  if (pattern === ANY) return value !== undefined;
  return value === pattern;
}

/**
 * Both maps without the keys whose difference `known` finds an entry for
 * (given the key, postern's value and the reference's); records the entries used.
 */
export function withoutKnown<D>(
  ours: Record<string, string>,
  theirs: Record<string, string>,
  known: (key: string, ours: string | undefined, theirs: string | undefined) => D | undefined,
  used: Set<D>,
): [Record<string, string>, Record<string, string>] {
  const a = { ...ours };
  const b = { ...theirs };
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (a[key] === b[key]) continue;
    const entry = known(key, a[key], b[key]);
    if (!entry) continue;
    used.add(entry);
    delete a[key];
    delete b[key];
  }
  return [a, b];
}
