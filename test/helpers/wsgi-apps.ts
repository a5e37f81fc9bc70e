// postern hosting the WSGI apps of test/fixtures/wsgi-apps: the `wsgi` routes
// (README "wsgi routes") that mount them, run by Debian's /usr/bin/python3,
// and postern serving those routes in the test's process. Tests and the
// benchmark build their routes here, so an app is mounted one way everywhere;
// the README's recipes are served as written, with the fixtures' paths.

import { startPostern, type RunningPostern } from "./postern.ts";
import { WSGI_APPS } from "./python-servers.ts";
import { readmeBlock, substitute } from "./readme.ts";
import { PYTHON } from "./wsgi.ts";

export interface WsgiMount {
  /** The route path: "/py/*" mounts the app at SCRIPT_NAME "/py". */
  path: string;
  /** MODULE:ATTR in test/fixtures/wsgi-apps. */
  app: string;
  workers?: number;
  threads?: number;
}

/** The postern.toml `[[routes]]` tables of `mounts`. */
export function wsgiRoutes(mounts: WsgiMount[]): string {
  return mounts
    .map((m) =>
      [
        "[[routes]]",
        `path = ${JSON.stringify(m.path)}`,
        'gateway = "wsgi"',
        `app = ${JSON.stringify(m.app)}`,
        `chdir = ${JSON.stringify(WSGI_APPS)}`,
        `python = ${JSON.stringify(PYTHON)}`,
        ...(m.workers === undefined ? [] : [`workers = ${m.workers}`]),
        ...(m.threads === undefined ? [] : [`threads = ${m.threads}`]),
        "",
      ].join("\n"),
    )
    .join("\n");
}

/** postern (Node, in this process) serving `mounts`; `top` is top-level TOML put before the routes (trusted_proxies). */
export function startWsgiPostern(mounts: WsgiMount[], top = ""): Promise<RunningPostern> {
  return startPostern(`${top}\n${wsgiRoutes(mounts)}`);
}

/**
 * postern serving the README's TOML block that contains `marker`, without
 * its `listen` line (startPostern listens on a free port), with each key of
 * `replacements` put in place (the recipes' /srv paths and virtualenvs).
 */
export function startReadmeRecipe(marker: string, replacements: Record<string, string>): Promise<RunningPostern> {
  return startPostern(substitute(readmeBlock("toml", marker).replace(/^listen = .*\n/m, ""), replacements));
}
