// The quick modes, a command line instead of a config: `postern fastcgi`
// (a PHP site), `postern cgi DIR` (a cgi-bin and its files), `postern wasi
// FILE.wasm`.

import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { UsageError, type Parsed } from "./args.ts";
import type { CGI_FLAGS, FASTCGI_FLAGS, SERVER_FLAGS } from "./commands.ts";
import { flagProblem, quickConfig, type QuickRoute } from "./quick-config.ts";
import { run } from "./run.ts";
import { runOptions, serverSettings } from "./server-settings.ts";

/**
 * A PHP site as caddy php-server and frankenphp php-server serve one: the
 * static route first, which never serves what the fastcgi route beside it
 * runs (gateways/static/scripts.ts: .php files, index.php, the front
 * controller) and hands those and every path it has no file for on; then
 * the scripts; then, with --front-controller, that script for the rest.
 */
export function fastcgiCommand(args: Parsed<typeof FASTCGI_FLAGS>): Promise<number> {
  const { values, typed, positionals } = args;
  if (!values.backend || !values.root) throw new UsageError("fastcgi needs --backend ADDR and --root DIR");
  noPositionals("fastcgi", positionals);
  const fastcgi: Record<string, unknown> = { backend: values.backend, root: values.root };
  if (values.index) fastcgi.index = values.index;
  if (values["front-controller"] !== undefined) fastcgi.front_controller = values["front-controller"];
  // The static route's defaults send no script, nor a backup of one (deny_extensions), and no dotfile (.htaccess, .user.ini).
  const routes = [{ gateway: "static", options: { root: values.root } }, { gateway: "fastcgi", options: fastcgi }];
  return serveQuick(routes, { backend: typed.backend, root: typed.root, index: typed.index, front_controller: typed["front-controller"] }, args);
}

/** The quick cgi mode runs scripts by extension with the interpreters this machine has. */
const QUICK_INTERPRETERS: Record<string, string> = { ".pl": "perl", ".py": "python3", ".rb": "ruby", ".php": "php-cgi", ".sh": "sh" };

/**
 * A cgi-bin, and the directory's other files as they are (a gitweb's
 * static/gitweb.css): the static route never serves what the cgi route
 * runs (an executable, a file with an interpreter's extension), nor a file
 * with a script's extension, and hands it on.
 */
export function cgiCommand(args: Parsed<typeof CGI_FLAGS>): Promise<number> {
  const { values, typed, positionals } = args;
  if (positionals.length !== 1) throw new UsageError("cgi needs one directory: postern cgi DIR");
  const root = resolve(positionals[0]!);
  const cgi = {
    root,
    index: values.index ?? ["index.cgi"],
    interpreters: installedInterpreters(),
    // A file left in the directory (a reset-db.sh) must not run on a GET:
    // only what was made executable does, unless asked otherwise.
    executable_only: values["run-all"] !== true,
    env: envPairs(values.env ?? [], typed.env ?? "--env"),
  };
  const routes = [{ gateway: "static", options: { root } }, { gateway: "cgi", options: cgi }];
  return serveQuick(routes, { root: "DIR", index: typed.index }, args);
}

export function wasiCommand(args: Parsed<typeof SERVER_FLAGS>): Promise<number> {
  if (args.positionals.length !== 1) throw new UsageError("wasi needs one module: postern wasi FILE.wasm");
  return serveQuick([{ gateway: "wasi", options: { module: resolve(args.positionals[0]!) } }], { module: "FILE.wasm" }, args);
}

function serveQuick(routes: QuickRoute[], typed: Record<string, string | undefined>, args: Parsed<typeof SERVER_FLAGS>): Promise<number> {
  const settings = serverSettings(args);
  return run(settings.apply(quickConfig(routes, typed)), process.cwd(), runOptions(settings, { route: flagProblem(typed) }));
}

function noPositionals(command: string, positionals: string[]): void {
  if (positionals.length > 0) throw new UsageError(`${command} takes no ${JSON.stringify(positionals[0])}; postern ${command} --help lists what it takes`);
}

function installedInterpreters(): Record<string, string> {
  const dirs = (process.env.PATH ?? "").split(":").filter(Boolean);
  return Object.fromEntries(
    Object.entries(QUICK_INTERPRETERS).filter(([, program]) => dirs.some((dir) => existsSync(`${dir}/${program}`))),
  );
}

/** `-e KEY=VALUE`, repeatable: the scripts' environment, set last (the cgi route's `env`). */
function envPairs(pairs: string[], flag: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new UsageError(`${flag}: expected KEY=VALUE, found ${JSON.stringify(pair)}`);
    env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return env;
}
