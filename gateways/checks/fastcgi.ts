// A fastcgi route's setup, checked: its root (where there are files), and
// either its backends' addresses or the program it starts (`spawn`), found,
// with who it runs as. Used by the gateway when it starts, and by `postern check`.

import { processUser } from "../../src/accounts.ts";
import type { Address } from "../../src/address.ts";
import { Problems } from "../../src/check/problems.ts";
import { FileCache } from "../../src/file-cache.ts";
import type { ProcessUser, Runtime } from "../../src/runtime.ts";
import type { FastCgiOptions } from "../fastcgi/options.ts";
import type { ScriptRouting } from "../fastcgi/routing.ts";
import { SymlinkPolicy } from "../symlinks.ts";
import { backendAddresses, canSpawn, programPath, realDirectory, scriptFile } from "./common.ts";

export interface FastCgiSetup {
  routing: ScriptRouting;
  /** The backends to connect to; none when postern starts them (`spawn`). */
  addresses: Address[];
  /** The backend postern starts: its program's absolute path, its environment, who it runs as. */
  spawn?: { program: string; env: Record<string, string>; user: ProcessUser | undefined };
}

/** The route's setup; a SetupError with every problem found otherwise. */
export async function fastcgiSetup(runtime: Runtime, o: FastCgiOptions, name: string): Promise<FastCgiSetup> {
  const problems = new Problems(name);
  const routing = await routingFor(problems, runtime, o, name);
  let spawn: FastCgiSetup["spawn"];
  if (o.spawn && canSpawn(problems, runtime, ["spawn"], "spawn")) {
    const user = await problems.check(() => processUser(runtime, o, name));
    const env = spawnEnv(runtime, o.spawn.env);
    const program = await programPath(problems, runtime, ["spawn", "command"], o.spawn.command[0]!, env.PATH, user);
    if (program) spawn = { program, env, user };
  }
  const addresses = o.backend ? backendAddresses(problems, runtime, o.backend) : [];
  problems.done();
  return { routing, addresses, ...(spawn ? { spawn } : {}) };
}

async function routingFor(problems: Problems, runtime: Runtime, o: FastCgiOptions, name: string): Promise<ScriptRouting> {
  const fs = runtime.fs;
  const base = { index: o.index, splitPaths: o.extensions ?? [o.split_path], script: o.script, frontController: o.front_controller };
  if (!fs) {
    // Keys that read the filesystem: refused rather than silently doing nothing.
    for (const key of ["vhost_root", "x_sendfile"] as const) {
      if (o[key] !== undefined) problems.add([key], `needs a filesystem, which the ${runtime.name} runtime has not`);
    }
    return { ...base, root: trimTrailingSlash(o.root), realRoot: trimTrailingSlash(o.root), files: undefined };
  }
  const realRoot = (await realDirectory(problems, fs, ["root"], o.root)) ?? "";
  if (realRoot !== "") await scriptFile(problems, fs, realRoot, o.script);
  // Scripts are named under the root as configured (nginx's $document_root);
  // a relative root is made absolute, as a backend needs.
  const root = o.root.startsWith("/") ? trimTrailingSlash(o.root) : realRoot;
  const symlinks = SymlinkPolicy.forRoute(runtime, o.follow_symlinks, realRoot, name);
  return { ...base, root, realRoot, files: { cache: new FileCache(fs), symlinks } };
}

function trimTrailingSlash(path: string): string {
  return path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
}

/**
 * A spawned backend sees PATH and what the route lists, nothing else of the
 * host. php-cgi would exit after 500 requests by default, racing a request
 * already sent on its kept connection; postern restarts a backend that dies,
 * so recycling is left to the route's spawn.env (PHP_FCGI_MAX_REQUESTS).
 */
function spawnEnv(runtime: Runtime, env: Record<string, string>): Record<string, string> {
  const path = runtime.getEnv("PATH");
  return { ...(path === undefined ? {} : { PATH: path }), PHP_FCGI_MAX_REQUESTS: "0", ...env };
}
