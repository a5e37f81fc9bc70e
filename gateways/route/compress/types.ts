// Which answers are worth compressing, by their media type (RFC 9110
// §8.3.1: type/subtype, parameters after ";", case-insensitive).

/** A test for media types against `patterns`: exact types, `type/*` and `type/*+suffix`. */
export function typeMatcher(patterns: readonly string[]): (contentType: string | null) => boolean {
  const exact = new Set<string>();
  const prefixes: string[] = [];
  const suffixes: [string, string][] = [];
  for (const pattern of patterns.map((p) => p.trim().toLowerCase())) {
    const star = /^([^/]+)\/\*(\+[^/]+)?$/.exec(pattern);
    if (!star) exact.add(pattern);
    else if (star[2]) suffixes.push([`${star[1]}/`, star[2]]);
    else prefixes.push(`${star[1]}/`);
  }
  return (contentType) => {
    if (contentType === null) return false;
    const type = contentType.split(";")[0]!.trim().toLowerCase();
    return exact.has(type) || prefixes.some((p) => type.startsWith(p)) || suffixes.some(([p, s]) => type.startsWith(p) && type.endsWith(s));
  };
}
