// Authentication around a route (lighttpd's mod_auth with mod_authn_file,
// and mod_fastcgi's authorizer mode): HTTP Basic against an htpasswd file
// (`auth`), then a FastCGI Authorizer (`authorizer`). A request that passes
// reaches the route with the variables they set (ServeEnv.variables):
// REMOTE_USER and AUTH_TYPE (RFC 3875 §4.1.1, §4.1.11), the authorizer's
// Variable-*. Both come before the route's body buffering, so a refused
// request's body is never received.

import type { Context } from "hono";
import { Problems, setupError } from "../../../src/check/problems.ts";
import { variablesOf } from "../../../src/cgi/env.ts";
import { derivedEnv, type GatewayHandler } from "../../handler.ts";
import type { RouteContext, RouteModule } from "../index.ts";
import { FastCgiAuthorizer } from "./authorizer.ts";
import { BasicAuth } from "./basic-auth.ts";
import type { AuthOptions, AuthorizerOptions } from "./fields.ts";
import { HtpasswdFile } from "./file.ts";

// RFC 9110 §5.6.4 quoted-string: visible ASCII and spaces (obs-text is not for a realm the browser shows).
const PRINTABLE = /^[\x20-\x7e]*$/;

export const authModule: RouteModule = {
  wrap(handler, options, route) {
    const auth = options.auth as AuthOptions | undefined;
    const authorizerOptions = options.authorizer as AuthorizerOptions | undefined;
    if (auth === undefined && authorizerOptions === undefined) return handler;
    const basic = auth && basicAuth(auth, route);
    if (authorizerOptions && !authorizerOptions.script.startsWith("/")) {
      throw setupError(route.name, ["authorizer", "script"], `must be an absolute path on the authorizer's side; found ${JSON.stringify(authorizerOptions.script)}`);
    }
    const authorizer = authorizerOptions && new FastCgiAuthorizer(route.runtime, authorizerOptions, route.name);
    const guarded = async (c: Context, next: () => Promise<void>): Promise<Response | void> => {
      if (basic) {
        const user = await basic.auth.authenticate(c.req.raw);
        if (user instanceof Response) return user;
        // RFC 3875 §4.1.1, §4.1.11: how the server authenticated the request, and whom.
        c.env = derivedEnv(c.env, { variables: { ...variablesOf(c.env), REMOTE_USER: user, AUTH_TYPE: "Basic" } });
      }
      if (authorizer) {
        const variables = await authorizer.authorize(c);
        if (variables instanceof Response) return variables;
        // What postern checked itself stays as it found it.
        c.env = derivedEnv(c.env, { variables: { ...variables, ...variablesOf(c.env) } });
      }
      return handler(c, next);
    };
    const ready = (async () => {
      const problems = new Problems(route.name);
      await problems.check(() => handler.ready);
      if (basic) await problems.check(() => basic.file.ready);
      if (authorizer) await problems.check(() => authorizer.ready);
      problems.done();
    })();
    ready.catch(() => undefined);
    const close = async () => {
      await Promise.all([handler.close(), authorizer?.close()]);
    };
    return Object.assign(guarded, { ready, close }, handler.scale ? { scale: handler.scale } : {}) satisfies GatewayHandler;
  },
};

function basicAuth(auth: AuthOptions, route: RouteContext): { auth: BasicAuth; file: HtpasswdFile } {
  if (!PRINTABLE.test(auth.realm)) throw setupError(route.name, ["auth", "realm"], "must be printable ASCII (it is sent in the WWW-Authenticate field)");
  const { runtime } = route;
  const file = new HtpasswdFile({
    fs: runtime.fs,
    path: auth.htpasswd,
    allowPlaintext: auth.allow_plaintext,
    hashes: runtime.passwordHashes,
    route: route.name,
    log: (line) => runtime.logError(`${route.name}: auth: ${line}`),
  });
  return { auth: new BasicAuth(file, auth.realm, runtime.passwordHashes), file };
}
