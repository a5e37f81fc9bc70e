// The log files `postern check` can vouch for without opening them (opening
// one for appending would create it): its directory exists, and the path is
// not a directory. That postern may write there shows when serve opens it.

import type { Problems } from "../../src/check/problems.ts";
import type { Config } from "../../src/config.ts";
import { isLogFile } from "../../src/logs.ts";
import type { FileSystem } from "../../src/runtime.ts";
import { resolvePath } from "../index.ts";

/** Notes what is wrong with access_log's and error_log's files, under their keys. */
export async function checkLogFiles(problems: Problems, fs: FileSystem, config: Config, baseDir: string): Promise<void> {
  const files = [["access_log", config.accessLog], ["error_log", config.errorLog]] as const;
  for (const [key, value] of files) {
    if (!isLogFile(value)) continue;
    const path = resolvePath(baseDir, value);
    const dir = path.slice(0, path.lastIndexOf("/")) || "/";
    const parent = await fs.stat(dir);
    if (!parent?.isDirectory) problems.add([key], `${JSON.stringify(path)}: the directory ${JSON.stringify(dir)} ${parent ? "is not a directory" : "does not exist"}`);
    else if ((await fs.stat(path))?.isDirectory) problems.add([key], `${JSON.stringify(path)} is a directory`);
  }
}
