// The host names a route (`host = [...]`) or a certificate (`[[tls.certs]]
// host = [...]`) answers for, as nginx's `server_name` writes them: an exact
// name, or `*.example.org` for every name under example.org (one label or
// more, `a.b.example.org` too, but not `example.org` itself). Names compare
// without letter case (RFC 4343) and without a trailing dot (RFC 1034 §3.1:
// `example.com.` is the same absolute name).

/** Why `pattern` cannot name hosts, or undefined when it can. */
export function hostPatternProblem(pattern: string): string | undefined {
  const name = pattern.startsWith("*.") ? pattern.slice(2) : pattern;
  if (name.includes("*")) return `${JSON.stringify(pattern)}: a wildcard stands only as the first label ("*.example.org")`;
  if (!/^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$/.test(name)) {
    return `${JSON.stringify(pattern)}: not a host name (letters, digits, "-" and dots; no port)`;
  }
  return undefined;
}

/** The host of a Host field value or SNI name, as patterns compare it: no port, lower case, no trailing dot. */
export function hostName(authority: string): string {
  const host = authority.startsWith("[") ? authority.slice(0, authority.indexOf("]") + 1) : authority.split(":")[0]!;
  const lower = host.toLowerCase();
  return lower.endsWith(".") ? lower.slice(0, -1) : lower;
}

/** A test of host names (as hostName gives them) against `patterns`, each checked by hostPatternProblem. */
export function hostMatcher(patterns: readonly string[]): (host: string) => boolean {
  const exact = new Set<string>();
  const suffixes: string[] = [];
  for (const pattern of patterns) {
    const name = hostName(pattern);
    if (name.startsWith("*.")) suffixes.push(name.slice(1));
    else exact.add(name);
  }
  return (host) => exact.has(host) || suffixes.some((suffix) => host.length > suffix.length && host.endsWith(suffix));
}
