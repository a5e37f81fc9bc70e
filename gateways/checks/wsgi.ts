// A wsgi route's setup, checked: who its workers run as, their environment,
// the Python interpreter found, the directory they run in. Used by the
// gateway before it starts its workers, and by `postern check` (which then
// has the app imported once: wsgi-import.ts).

import { processUser } from "../../src/accounts.ts";
import { Problems } from "../../src/check/problems.ts";
import type { ProcessUser, Runtime } from "../../src/runtime.ts";
import type { WsgiOptions } from "../wsgi/options.ts";
import { canSpawn, programPath, realDirectory } from "./common.ts";

export interface WsgiSetup {
  user: ProcessUser | undefined;
  /** The absolute path of the interpreter. */
  python: string;
  /** The workers' whole environment. */
  env: Record<string, string>;
}

/** The route's setup; a SetupError with every problem found otherwise. */
export async function wsgiSetup(runtime: Runtime, o: WsgiOptions, name: string): Promise<WsgiSetup> {
  const problems = new Problems(name);
  if (!canSpawn(problems, runtime, ["gateway"], "a wsgi route")) problems.done();
  const user = await problems.check(() => processUser(runtime, o, name));
  const env = workerEnv(runtime, o);
  const python = await programPath(problems, runtime, ["python"], o.python, env.PATH, user);
  if (o.chdir !== undefined) await realDirectory(problems, runtime.fs!, ["chdir"], o.chdir);
  problems.done();
  return { user, python: python!, env };
}

/** pass_env's variables that postern has, then env's. */
function workerEnv(runtime: Runtime, o: WsgiOptions): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of o.pass_env) {
    const value = runtime.getEnv(name);
    if (value !== undefined) env[name] = value;
  }
  return { ...env, ...o.env };
}
