// The checks several gateways' setups make: a directory they serve from, a
// program they start, backend addresses the runtime can connect to. Each
// notes what is wrong in the route's Problems and goes on, so that a route
// reports all it finds (src/check/problems.ts).

import { formatAddress, parseAddress, type Address } from "../../src/address.ts";
import { Problems } from "../../src/check/problems.ts";
import type { KeyPath } from "../../src/config-locate.ts";
import type { FileSystem, ProcessUser, Runtime } from "../../src/runtime.ts";
import { findProgram } from "../program.ts";

/** The real path of the directory at `path`, or undefined (the problem noted under `key`). */
export async function realDirectory(problems: Problems, fs: FileSystem, key: KeyPath, path: string): Promise<string | undefined> {
  const real = await fs.realpath(path);
  const stat = real === null ? null : await fs.stat(real);
  if (real !== null && stat?.isDirectory) return real;
  problems.add(key, `${JSON.stringify(path)} ${real === null ? "does not exist" : "is not a directory"}`);
  return undefined;
}

/**
 * The absolute path of the program `name` (findProgram: on `path` unless it
 * has a "/", executable), or undefined (the problem noted under `key`).
 */
export async function programPath(
  problems: Problems,
  runtime: Runtime,
  key: KeyPath,
  name: string,
  path: string | undefined,
  user: ProcessUser | undefined,
): Promise<string | undefined> {
  const found = await findProgram(runtime, name, path, user);
  if (found) return found;
  const stat = name.includes("/") ? await runtime.fs!.stat(name) : null;
  problems.add(key, `${JSON.stringify(name)} ${stat?.isFile ? "is not executable" : `not found${name.includes("/") ? "" : " on PATH"}`}`);
  return undefined;
}

/** Whether the runtime starts processes; if not, the problem is noted under `key`. */
export function canSpawn(problems: Problems, runtime: Runtime, key: KeyPath, what: string): boolean {
  if (runtime.spawn && runtime.fs) return true;
  problems.add(key, `${what} needs a runtime that can start processes; ${runtime.name} cannot`);
  return false;
}

/** A route's backend addresses (valid already: the schema parsed them), each one the runtime can connect to; a problem is noted under `key`. */
export function backendAddresses(problems: Problems, runtime: Runtime, backends: readonly string[], key: KeyPath = ["backend"]): Address[] {
  const addresses = backends.map(parseAddress);
  for (const addr of addresses) {
    if (addr.kind === "unix" && !runtime.unixSockets) {
      problems.add(key, `the ${runtime.name} runtime cannot connect to unix sockets (${formatAddress(addr)}); use a TCP address`);
    }
  }
  return addresses;
}

/** The setup of a route whose only setup is its backends (uwsgi, scgi): their addresses; a SetupError otherwise. */
export function backendSetup(runtime: Runtime, backends: readonly string[], name: string): Address[] {
  const problems = new Problems(name);
  const addresses = backendAddresses(problems, runtime, backends);
  problems.done();
  return addresses;
}

/**
 * Checks that a route's `script` (a path from the root, gateways/script-mount.ts)
 * names a regular file under `root`: a mistake in it is reported at startup
 * with its key, not as a 404 on every request.
 */
export async function scriptFile(problems: Problems, fs: FileSystem, root: string, script: string | undefined): Promise<void> {
  if (script === undefined) return;
  const stat = await fs.stat(root.replace(/\/+$/, "") + script);
  if (!stat?.isFile) problems.add(["script"], `${JSON.stringify(script)} is ${stat === null ? "not a file under" : "not a regular file in"} the root ${JSON.stringify(root)}`);
}
