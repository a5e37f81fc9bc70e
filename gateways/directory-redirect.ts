// The answer to a URL that names a directory without its trailing slash:
// 301 to the same URL with it, so that the relative links of the directory's
// index (gitweb's `static/gitweb.css`) resolve inside the directory, as
// lighttpd, nginx and Apache's mod_dir answer.

/**
 * 301 to `target` (the client's path and query, RFC 9112 §3.2) with a "/"
 * after the path. The path is spelt as the client sent it, as Apache does:
 * with encoded_slashes = "keep" the normalised path has "%252F" where the
 * client wrote "%2F". Leading slashes are collapsed so "//host" cannot become
 * a protocol-relative Location (an open redirect).
 */
export function redirectToDirectory(target: string): Response {
  const query = target.indexOf("?");
  const path = query < 0 ? target : target.slice(0, query);
  const search = query < 0 ? "" : target.slice(query);
  const location = `/${path.replace(/^\/+/, "")}/${search}`;
  return new Response(null, { status: 301, headers: { location } });
}
