// A unix socket's path through node:fs and node:net (Node, and Bun, which
// provides them): for clearSocketPath in serve.ts.

import { lstat, unlink } from "node:fs/promises";
import { connect } from "node:net";
import type { SocketPath } from "./serve.ts";

export const socketPath: SocketPath = {
  async kind(path) {
    try {
      return (await lstat(path)).isSocket() ? "socket" : "other";
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return "none";
      throw err;
    }
  },
  answers(path) {
    return new Promise((resolve, reject) => {
      const socket = connect({ path });
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", (err: NodeJS.ErrnoException) => {
        if (err.code === "ECONNREFUSED" || err.code === "ENOENT") resolve(false);
        else if (err.code === "EAGAIN") resolve(true);
        else reject(err);
      });
    });
  },
  remove: unlink,
};
