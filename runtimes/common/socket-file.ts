// What is at a unix socket's path, through node:fs (Node, and Bun, which
// provides it): for clearSocketPath in serve.ts.

import { lstat, unlink } from "node:fs/promises";

export async function socketFileKind(path: string): Promise<"socket" | "other" | "none"> {
  try {
    return (await lstat(path)).isSocket() ? "socket" : "other";
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return "none";
    throw err;
  }
}

export const removeSocketFile = unlink;
