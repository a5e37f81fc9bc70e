// The route `host` key (virtual hosts, docs/vhosts.md): a route that lists
// hosts serves only requests for them and hands any other on to the next
// route; a route without `host` serves every host (the default host). As
// nginx's `server_name` and lighttpd's `$HTTP["host"]` conditions choose
// by the Host field, the request's host is its URL's authority: the Host
// field, or the authority of an absolute-form target, which RFC 9112 §3.2.2
// puts in its place, or, without either (HTTP/1.0), the server's own address
// (RFC 9112 §3.3), which names no listed host, so the default host answers.
// X-Forwarded-Host is never believed: a trusted proxy tells who the client
// is (gateways/trusted-proxies.ts), not which site it asked for.

import type { MiddlewareHandler } from "hono";
import { requestTarget } from "../../src/cgi/target.ts";
import type { Schema } from "../../src/config-schema.ts";
import { hostMatcher, hostName, hostPatternProblem } from "../../src/http/host-pattern.ts";
import type { RouteModule } from "./index.ts";

export const hostFields = {
  host: {
    type: "string[]",
    check: hostPatternProblem,
    doc: 'the hosts the route serves (`["example.com", "*.example.org"]`: exact names, or every name under a domain), compared without letter case, port or trailing dot; a request for another host goes on to the next route. A route without `host` serves every host. See [Virtual hosts](vhosts.md)',
  },
} as const satisfies Schema;

export const hostModule: RouteModule = {
  wrap(handler, options) {
    const hosts = options.host as string[] | undefined;
    if (hosts === undefined) return handler;
    const matches = hostMatcher(hosts);
    const guarded: MiddlewareHandler = (c, next) => (matches(hostName(requestTarget(c.req.raw.url).authority)) ? handler(c, next) : next());
    return Object.assign(guarded, handler);
  },
};
