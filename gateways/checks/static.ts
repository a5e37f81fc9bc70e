// A static route's setup, checked: its root is a directory. Used by the
// gateway when it starts, and by `postern check`.

import { Problems } from "../../src/check/problems.ts";
import type { FileSystem } from "../../src/runtime.ts";
import type { StaticOptions } from "../static/options.ts";
import { realDirectory } from "./common.ts";

/** The real path of the route's root, without a trailing slash; a SetupError otherwise. */
export async function staticRoot(fs: FileSystem, o: StaticOptions, name: string): Promise<string> {
  const problems = new Problems(name);
  const real = await realDirectory(problems, fs, ["root"], o.root);
  problems.done();
  return real!.endsWith("/") ? real!.slice(0, -1) : real!;
}
