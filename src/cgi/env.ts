// RFC 3875 §4.1 meta-variables for one request, shared by every gateway (CGI,
// FastCGI, SCGI, uwsgi, WASI). The set mirrors what nginx's stock fastcgi.conf
// + fastcgi_params give PHP. Only the request and its connection go in: the
// host environment never does (DESIGN.md, "Security defaults").

import { type ConnInfo, normalizeAddress } from "./conn.ts";
import { sslVariables } from "../tls/variables.ts";
import { authorityHost, authorityPort, type RequestTarget } from "./target.ts";
import type { ServeEnv } from "../runtime.ts";

export interface CgiEnvInput {
  request: Request;
  /** The request URL's parts (see target.ts). */
  target: RequestTarget;
  conn: ConnInfo;
  /** Decoded URL path of the script, e.g. "/index.php". */
  scriptName: string;
  /** Decoded, "" when none. */
  pathInfo: string;
  /** Filesystem root of the route. */
  documentRoot?: string;
  /** Absolute filesystem path of the script. */
  scriptFilename?: string;
  /** Default "postern". */
  serverSoftware?: string;
  /** Route-configured variables, applied last: they override everything above. */
  extra?: Record<string, string>;
  /** Default false: request headers whose names contain "_" are dropped. */
  underscoresInHeaders?: boolean;
  /** What route modules set (ServeEnv.variables, variablesOf): added to the variables above, never replacing one. */
  variables?: Readonly<Record<string, string>>;
}

/** The variables route modules set for a request's backend (ServeEnv.variables). */
export function variablesOf(env: unknown): Readonly<Record<string, string>> | undefined {
  return (env as Partial<ServeEnv> | undefined)?.variables;
}

/**
 * The meta-variables for a request. Header values are taken as the Request's
 * Headers give them: repeated fields joined with ", " (RFC 9110 §5.3). Cookie
 * is the exception, its lines are joined with "; " (RFC 6265 §5.4): runtimes
 * must do that before building the Request, so its value is taken as it is.
 */
export function cgiEnv(input: CgiEnvInput): Record<string, string> {
  const { request, target, conn, scriptName, pathInfo, documentRoot, scriptFilename } = input;
  const env: Record<string, string> = Object.create(null);
  env.GATEWAY_INTERFACE = "CGI/1.1"; // §4.1.4
  env.SERVER_SOFTWARE = input.serverSoftware ?? "postern"; // §4.1.17
  env.SERVER_PROTOCOL = "HTTP/" + conn.httpVersion; // §4.1.16
  env.SERVER_ADDR = normalizeAddress(conn.localAddress);
  // §4.1.15; when the runtime cannot tell, the port the client addressed.
  env.SERVER_PORT = String(conn.localPort || authorityPort(target.authority) || (conn.tls ? 443 : 80));
  env.REQUEST_METHOD = request.method; // §4.1.12
  env.REQUEST_SCHEME = conn.tls ? "https" : "http";
  if (conn.tls) env.HTTPS = "on";
  if (conn.tls && conn.tlsFacts !== undefined) Object.assign(env, sslVariables(conn.tlsFacts));
  env.QUERY_STRING = target.search.slice(1); // §4.1.7: raw, still URL-encoded
  // nginx's $request_uri: path and query still encoded, "?" of an empty query
  // included, as the client's URL held them before the path was normalised
  // (URL parsing may have resolved dot segments and percent-encoded
  // characters a URL may not carry).
  env.REQUEST_URI = target.requestUri;
  env.DOCUMENT_URI = scriptName + pathInfo;
  env.SCRIPT_NAME = scriptName; // §4.1.13
  if (pathInfo !== "") {
    env.PATH_INFO = pathInfo; // §4.1.5
    // §4.1.6: PATH_INFO mapped onto the document root (nginx: $document_root$fastcgi_path_info).
    if (documentRoot !== undefined) env.PATH_TRANSLATED = trimSlash(documentRoot) + pathInfo;
  }
  if (scriptFilename !== undefined) env.SCRIPT_FILENAME = scriptFilename;
  if (documentRoot !== undefined) env.DOCUMENT_ROOT = documentRoot;
  env.REMOTE_ADDR = normalizeAddress(conn.remoteAddress); // §4.1.8
  env.REMOTE_PORT = String(conn.remotePort);
  env.REDIRECT_STATUS = "200"; // php-cgi refuses to run without it (cgi.force_redirect)

  const underscores = input.underscoresInHeaders === true;
  const variables = input.variables;
  // §4.1.18: the server "SHOULD remove any header fields carrying
  // authentication information, such as 'Authorization'" once it has
  // authenticated the request itself (AUTH_TYPE set), as Apache does
  // (unless CGIPassAuth): the password stays with postern.
  const authenticated = variables?.AUTH_TYPE !== undefined;
  for (const [name, value] of request.headers) {
    const key = headerKey(name);
    if (key === "") continue;
    if (authenticated && key === "HTTP_AUTHORIZATION") continue;
    if (name.includes("_")) {
      // After §4.1.18's "-" -> "_" mapping, X_Forwarded_For would pose as
      // X-Forwarded-For (nginx: underscores_in_headers off). Even when allowed,
      // such a name never replaces the one spelt with "-".
      if (!underscores || env[key] !== undefined) continue;
    }
    if (key === "CONTENT_LENGTH") {
      // A GET or HEAD body has no meaning (RFC 9110 §9.3.1-2) and a Fetch
      // Request cannot carry one: no length either, or the script would wait
      // for bytes that never come.
      if (request.method === "GET" || request.method === "HEAD") continue;
      // RFC 9110 §8.6: 1*DIGIT (checked by the server); "005" is 5.
      env[key] = withoutLeadingZeros(value);
      continue;
    }
    env[key] = fieldText(value);
  }

  env.SERVER_NAME = serverName(env.HTTP_HOST, conn, target); // §4.1.14
  // AUTH_TYPE (§4.1.1) and REMOTE_USER (§4.1.11) come with the variables of
  // a route that authenticated the request (gateways/route/auth/); without
  // them HTTP_AUTHORIZATION is passed: PHP derives PHP_AUTH_* from it. A
  // variable never replaces one set above from the request: an authorizer's
  // Variable-SCRIPT_FILENAME does not choose the script.
  if (variables !== undefined) {
    for (const key in variables) {
      if (env[key] === undefined) env[key] = variables[key]!;
    }
  }

  const extra = input.extra;
  if (extra !== undefined) {
    for (const key in extra) {
      const value = extra[key];
      if (value !== undefined) env[key] = value;
    }
  }
  return env;
}

// Header values are ByteStrings (Fetch standard §2.2): one char per byte, so
// the UTF-8 bytes of "é" arrive as two chars. Meta-variables are passed on as
// UTF-8, which would encode each of those chars again; bytes that form valid
// UTF-8 are decoded first, so the backend gets them byte for byte. Other
// bytes (RFC 9110 §5.5 obs-text in a legacy charset) stay one char each.
const NON_ASCII = /[\x80-\xff]/;
const UTF8 = new TextDecoder("utf-8", { fatal: true });

function fieldText(value: string): string {
  if (!NON_ASCII.test(value)) return value;
  try {
    return UTF8.decode(Uint8Array.from(value, (c) => c.charCodeAt(0)));
  } catch {
    return value;
  }
}

// Header name -> meta-variable name ("user-agent" -> "HTTP_USER_AGENT"), or ""
// for a header that is not forwarded. Bounded, so odd names cannot grow it.
const KEY_CACHE = new Map<string, string>();
const KEY_CACHE_MAX = 512;
// §4.1.18 meta-variable names are letters, digits and "_"; anything else in a
// field name ("." "+" "~" ...) has no faithful mapping and is dropped.
const MAPPABLE_NAME = /^[A-Za-z0-9_-]+$/;

function headerKey(name: string): string {
  let key = KEY_CACHE.get(name);
  if (key === undefined) {
    key = MAPPABLE_NAME.test(name) ? "HTTP_" + name.toUpperCase().replaceAll("-", "_") : "";
    // §4.1.2 / §4.1.3: the two body fields get their own variables, and only
    // under those names (a "Content_Type" field never becomes CONTENT_TYPE).
    if (key === "HTTP_CONTENT_TYPE" || key === "HTTP_CONTENT_LENGTH") {
      key = name.includes("_") ? "" : key.slice(5);
    }
    // httpoxy, CVE-2016-5385: HTTP_PROXY would be read as the HTTP_PROXY
    // proxy setting by the script's HTTP clients.
    if (key === "HTTP_PROXY") key = "";
    // RFC 9110 §7.6.1: hop-by-hop. Every gateway frames the body itself and
    // sets CONTENT_LENGTH; a "chunked" left here would mislead the backend
    // (lighttpd drops it too).
    if (key === "HTTP_TRANSFER_ENCODING") key = "";
    if (KEY_CACHE.size < KEY_CACHE_MAX) KEY_CACHE.set(name, key);
  }
  return key;
}

/** §4.1.14: the Host field without its port ("[::1]" stays bracketed), else the local address. */
function serverName(host: string | undefined, conn: ConnInfo, target: RequestTarget): string {
  if (host !== undefined && host !== "") {
    const end = host.charCodeAt(0) === 91 /* "[" */ ? host.indexOf("]") + 1 : 0;
    const colon = host.indexOf(":", end);
    return colon < 0 ? host : host.slice(0, colon);
  }
  const local = normalizeAddress(conn.localAddress);
  if (local === "") return authorityHost(target.authority); // already bracketed when IPv6
  return local.includes(":") ? `[${local}]` : local;
}

function withoutLeadingZeros(digits: string): string {
  let from = 0;
  while (from < digits.length - 1 && digits.charCodeAt(from) === 48 /* "0" */) from++;
  return from === 0 ? digits : digits.slice(from);
}

function trimSlash(path: string): string {
  return path.endsWith("/") ? path.slice(0, -1) : path;
}

/**
 * Percent-decodes a URL path as UTF-8 (RFC 3986 §2.1, RFC 3629); null when an
 * escape is malformed or the bytes are not valid UTF-8 (overlong forms and
 * surrogates included). Gateways answer 400 for null. "%2F" decodes to "/":
 * check the raw path for encoded slashes before calling this if they matter.
 */
export function decodePath(pathname: string): string | null {
  if (!pathname.includes("%")) return pathname;
  try {
    return decodeURIComponent(pathname);
  } catch {
    return null;
  }
}

const FORBIDDEN_PATH_BYTES = /[\r\n\x00]/;

/**
 * True when a decoded path holds CR, LF or NUL: a newline in PATH_INFO let
 * php-fpm's env handling underflow a buffer (CVE-2019-11043), and NUL truncates
 * file names in C. Gateways answer 400.
 */
export function hasForbiddenPathBytes(decoded: string): boolean {
  return FORBIDDEN_PATH_BYTES.test(decoded);
}
