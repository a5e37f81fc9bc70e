// A cgi route's setup, checked: its root, who its scripts run as, each
// interpreter found. Used by the gateway when it starts, and by `postern check`.

import { processUser } from "../../src/accounts.ts";
import { Problems } from "../../src/check/problems.ts";
import type { ProcessUser, Runtime } from "../../src/runtime.ts";
import type { CgiOptions } from "../cgi/options.ts";
import { programPath, realDirectory, scriptFile } from "./common.ts";

export interface CgiSetup {
  /** The root as scripts are named under it (absolute), and its real path. */
  root: string;
  realRoot: string;
  user: ProcessUser | undefined;
  /** Extension -> absolute path of its interpreter. */
  interpreters: Map<string, string>;
  /** The variables of the gateway's own environment that scripts get. */
  passed: Record<string, string>;
}

/** The route's setup; a SetupError with every problem found otherwise. The runtime can spawn (createCgi checked). */
export async function cgiSetup(runtime: Runtime, o: CgiOptions, name: string): Promise<CgiSetup> {
  const problems = new Problems(name);
  const realRoot = await realDirectory(problems, runtime.fs!, ["root"], o.root);
  if (realRoot !== undefined) await scriptFile(problems, runtime.fs!, realRoot, o.script);
  const passed: Record<string, string> = {};
  for (const variable of o.pass_env) {
    const value = runtime.getEnv(variable);
    if (value !== undefined) passed[variable] = value;
  }
  const user = await problems.check(() => processUser(runtime, o, name));
  const interpreters = new Map<string, string>();
  for (const [ext, program] of Object.entries(o.interpreters)) {
    const path = await programPath(problems, runtime, ["interpreters", ext], program, passed.PATH ?? runtime.getEnv("PATH"), user);
    if (path) interpreters.set(ext, path);
  }
  problems.done();
  return { root: o.root.startsWith("/") ? o.root : realRoot!, realRoot: realRoot!, user, interpreters, passed };
}
