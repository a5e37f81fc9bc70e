// `postern check`'s import of a wsgi route's app: the adapter run once in its
// check mode (--check: the app imported as a worker imports it, with the
// route's interpreter, directory, path, environment and user, then exit),
// as Gunicorn's --check-config does. It serves nothing and binds nothing.

import { Problems } from "../../src/check/problems.ts";
import { readAllLimited } from "../../src/io/bytes.ts";
import type { Runtime } from "../../src/runtime.ts";
import type { WsgiOptions } from "../wsgi/options.ts";
import { adapterCommand } from "../wsgi/workers.ts";
import type { WsgiSetup } from "./wsgi.ts";

/** How long the import may take when the route's timeout is 0 (none): a worker's boot gets as long (src/supervisor/group.ts). */
const DEFAULT_IMPORT_TIMEOUT_MS = 30_000;
/** The end of the Python error kept for the message. */
const MAX_STDERR_BYTES = 64 * 1024;
const MAX_STDERR_LINES = 30;

/** Imports the route's app once; a SetupError naming `app` when it does not load. */
export async function checkWsgiImport(runtime: Runtime, o: WsgiOptions, setup: WsgiSetup, name: string): Promise<void> {
  const problems = new Problems(name);
  const child = runtime.spawn!(adapterCommand(setup.python, o, undefined), {
    env: setup.env,
    stdin: "null",
    stdout: "null",
    stderr: "pipe",
    // Whatever the app started at import goes with it.
    group: true,
    ...(setup.user ? { user: setup.user } : {}),
  });
  const ms = o.timeout === 0 ? DEFAULT_IMPORT_TIMEOUT_MS : o.timeout;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, ms);
  const stderr = readAllLimited(child.stderr!, MAX_STDERR_BYTES, () => new Error("stderr over the limit")).then(
    (bytes) => new TextDecoder().decode(bytes),
    () => "",
  );
  const status = await child.exited.finally(() => clearTimeout(timer));
  // The adapter has exited: anything still in its group is the app's, left behind.
  child.kill("SIGKILL");
  const said = (await stderr).trimEnd().split("\n").slice(-MAX_STDERR_LINES).map((line) => `  ${line}`).join("\n");
  if (timedOut) problems.add(["app"], `importing ${JSON.stringify(o.app)} took over ${ms} ms (the route's timeout)`);
  else if (status !== 0) problems.add(["app"], `${JSON.stringify(o.app)} does not load (${setup.python} exited with status ${status})${said ? `:\n${said}` : ""}`);
  problems.done();
}
