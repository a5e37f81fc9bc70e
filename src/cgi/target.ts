// The parts of a request URL the CGI variables need, cut out of the string
// without building a URL object (a measurable cost per request). The string
// is the Request's url: absolute, already normalized by the runtime's URL
// parsing (dot segments resolved), with no fragment (RFC 9112 §3.2).

export interface RequestTarget {
  /** Still percent-encoded, as the client sent it. */
  pathname: string;
  /** From "?" on, "?" alone for an empty query, "" for none. */
  search: string;
  /** host[:port] of the URL. */
  authority: string;
}

export function requestTarget(url: string): RequestTarget {
  const authorityStart = url.indexOf("//") + 2;
  let pathStart = url.indexOf("/", authorityStart);
  if (pathStart < 0) pathStart = url.length;
  const query = url.indexOf("?", pathStart);
  const authority = url.slice(authorityStart, pathStart);
  if (query < 0) return { pathname: url.slice(pathStart) || "/", search: "", authority };
  return { pathname: url.slice(pathStart, query) || "/", search: url.slice(query), authority };
}

/** The port of an authority ("" when none): "[::1]:8080" -> "8080". */
export function authorityPort(authority: string): string {
  const colon = authority.lastIndexOf(":");
  return colon > authority.lastIndexOf("]") ? authority.slice(colon + 1) : "";
}

/** The host of an authority, IPv6 kept in brackets: "[::1]:8080" -> "[::1]". */
export function authorityHost(authority: string): string {
  const colon = authority.lastIndexOf(":");
  return colon > authority.lastIndexOf("]") ? authority.slice(0, colon) : authority;
}
