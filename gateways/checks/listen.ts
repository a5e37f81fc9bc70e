// The listen addresses `postern check` can vouch for without binding them: a
// unix socket's directory exists, and nothing but a socket is at its path
// (serve refuses to replace another file: runtimes/common/serve.ts
// clearSocketPath). A TCP port in use shows only when serve binds it.

import { parseListen } from "../../src/tls/listen.ts";
import { Problems } from "../../src/check/problems.ts";
import type { FileSystem } from "../../src/runtime.ts";

/** Notes what is wrong with `listen`'s unix sockets, under the key `listen`. */
export async function checkListen(problems: Problems, fs: FileSystem, listen: readonly string[]): Promise<void> {
  for (const text of listen) {
    const addr = parseListen(text).address;
    if (addr.kind !== "unix") continue;
    const slash = addr.path.lastIndexOf("/");
    const dir = slash < 0 ? "." : addr.path.slice(0, slash) || "/";
    const stat = await fs.stat(dir);
    if (!stat?.isDirectory) {
      problems.add(["listen"], `${text}: the directory ${JSON.stringify(dir)} ${stat ? "is not a directory" : "does not exist"}`);
      continue;
    }
    const there = await fs.lstat(addr.path);
    if (there?.isFile || there?.isDirectory) problems.add(["listen"], `${text}: a file that is not a socket is there`);
  }
}
