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
  /** Path and query as the client's URL had them, before the server normalised the path (nginx's $request_uri). */
  requestUri: string;
}

/** Where a server rewrote the request URL (ServeEnv.clientTarget): that URL and the client's path and query. */
export interface ClientTarget {
  url: string;
  target: string;
}

/** The parts of `url`; `client` names the client's own target when the server rewrote the URL. */
export function requestTarget(url: string, client?: ClientTarget): RequestTarget {
  const authorityStart = url.indexOf("//") + 2;
  let pathStart = url.indexOf("/", authorityStart);
  if (pathStart < 0) pathStart = url.length;
  const query = url.indexOf("?", pathStart);
  const authority = url.slice(authorityStart, pathStart);
  const pathname = url.slice(pathStart, query < 0 ? url.length : query) || "/";
  const search = query < 0 ? "" : url.slice(query);
  return { pathname, search, authority, requestUri: client !== undefined && client.url === url ? client.target : pathname + search };
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
