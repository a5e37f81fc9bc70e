// A failure at run time, as opposed to a command line or a config that
// cannot work: an address that cannot be listened on, a pid file that cannot
// be written. Exit status 1, the message saying why in words, not in errno.

import { existsSync } from "node:fs";
import { dirname } from "node:path";

export class RuntimeFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RuntimeFailure";
  }
}

/**
 * Why a socket or a file could not be made, from the system's error:
 * `path` is the file's (a unix socket's), `port` a TCP port's. Node reports
 * a unix socket in a directory that does not exist as EACCES (libuv turns
 * ENOENT into EACCES for pipes), so a missing directory is looked for first.
 */
export function whyNot(err: unknown, where: { path?: string; port?: number } = {}): string {
  const code = (err as { code?: unknown } | null)?.code;
  if ((code === "ENOENT" || code === "EACCES") && where.path !== undefined && !existsSync(dirname(where.path))) {
    return `no such directory ${dirname(where.path)}`;
  }
  switch (code) {
    case "EADDRINUSE":
      return "address already in use (another server listens there)";
    case "EACCES":
    case "EPERM":
      return where.port !== undefined && where.port > 0 && where.port < 1024
        ? "permission denied (a port below 1024 needs root or CAP_NET_BIND_SERVICE)"
        : "permission denied";
    case "EADDRNOTAVAIL":
      return "no network interface of this machine has that address";
    case "ENOTFOUND":
    case "EAI_NONAME":
    case "EAI_AGAIN":
      return "no such host";
    case "ENOENT":
      return "no such file or directory";
    case "ENOTDIR":
      return "a part of the path is not a directory";
    case "EISDIR":
      return "a directory is there";
    case "EROFS":
      return "read-only file system";
  }
  return err instanceof Error ? err.message : String(err);
}
