// Authentication around a route (lighttpd's mod_auth with mod_authn_file,
// and mod_fastcgi's authorizer mode): HTTP Basic against an htpasswd file
// (`auth`), then a FastCGI Authorizer (`authorizer`). A request that passes
// reaches the route with the variables they set (ServeEnv.variables):
// REMOTE_USER and AUTH_TYPE (RFC 3875 §4.1.1, §4.1.11), the authorizer's
// Variable-*. Both come before the route's body buffering, so a refused
// request's body is never received.

import type { Context } from "hono";
import { Problems } from "../../../src/check/problems.ts";
import { variablesOf } from "../../../src/cgi/env.ts";
import { derivedEnv, onClientGone, type GatewayHandler } from "../../handler.ts";
import type { RouteContext, RouteModule } from "../index.ts";
import { FastCgiAuthorizer } from "./authorizer.ts";
import { BasicAuth } from "./basic-auth.ts";
import type { AuthOptions, AuthorizerOptions } from "./fields.ts";
import { HtpasswdFile } from "./file.ts";

// RFC 9110 §5.6.4 quoted-string: visible ASCII and spaces (obs-text is not for a realm the browser shows).
const PRINTABLE = /^[\x20-\x7e]*$/;

/** What a route's auth keys set up; `ready` settles when the file is read, with every problem found. */
interface AuthSetup {
  basic?: BasicAuth;
  authorizer?: FastCgiAuthorizer;
  ready: Promise<void>;
}

export const authModule: RouteModule = {
  wrap(handler, options, route) {
    const setup = authSetup(options, route, handler.ready);
    if (setup === undefined) return handler;
    const { basic, authorizer } = setup;
    const guarded = async (c: Context, next: () => Promise<void>): Promise<Response | void> => {
      if (basic) {
        const user = await basic.authenticate(c.req.raw, (withdraw) => onClientGone(c, withdraw));
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
    const close = async () => {
      await Promise.all([handler.close(), authorizer?.close()]);
    };
    // The route's own scale() and stats() stay reachable through the module.
    return Object.assign(guarded, handler, { ready: setup.ready, close }) satisfies GatewayHandler;
  },

  async check(options, route) {
    const setup = authSetup(options, route);
    try {
      await setup?.ready;
    } finally {
      await setup?.authorizer?.close();
    }
  },
};

/** The route's Basic auth and authorizer, undefined when it has neither; `ready` waits for `inner` (the route's own setup) too. */
function authSetup(options: Record<string, unknown>, route: RouteContext, inner?: Promise<void>): AuthSetup | undefined {
  const auth = options.auth as AuthOptions | undefined;
  const authorizerOptions = options.authorizer as AuthorizerOptions | undefined;
  if (auth === undefined && authorizerOptions === undefined) return undefined;
  const { runtime } = route;
  const problems = new Problems(route.name);
  const setup: AuthSetup = { ready: Promise.resolve() };
  const waits: (() => Promise<void>)[] = inner ? [() => inner] : [];
  if (auth) {
    if (!PRINTABLE.test(auth.realm)) problems.add(["auth", "realm"], "must be printable ASCII (it is sent in the WWW-Authenticate field)");
    const file = new HtpasswdFile({
      fs: runtime.fs,
      path: auth.htpasswd,
      allowPlaintext: auth.allow_plaintext,
      hashes: runtime.passwordHashes,
      route: route.name,
      log: (line) => runtime.logError(`${route.name}: auth: ${line}`),
    });
    setup.basic = new BasicAuth(file, auth.realm, runtime.passwordHashes, auth.cache);
    waits.push(() => file.ready);
  }
  if (authorizerOptions) {
    if (!authorizerOptions.script.startsWith("/")) {
      problems.add(["authorizer", "script"], `must be an absolute path on the authorizer's side; found ${JSON.stringify(authorizerOptions.script)}`);
    }
    const authorizer = new FastCgiAuthorizer(runtime, authorizerOptions, route.name);
    setup.authorizer = authorizer;
    waits.push(() => authorizer.ready);
  }
  setup.ready = (async () => {
    for (const wait of waits) await problems.check(wait);
    problems.done();
  })();
  setup.ready.catch(() => undefined);
  return setup;
}
