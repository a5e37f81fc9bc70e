// A unix socket's path through Deno's own calls: for clearSocketPath in
// runtimes/common/serve.ts.

import type { SocketPath } from "../common/serve.ts";
import { Deno } from "./api.ts";

export const socketPath: SocketPath = {
  async kind(path) {
    try {
      return (await Deno.lstat(path)).isSocket ? "socket" : "other";
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return "none";
      throw err;
    }
  },
  async answers(path) {
    try {
      (await Deno.connect({ transport: "unix", path })).close();
      return true;
    } catch (err) {
      if (err instanceof Deno.errors.ConnectionRefused || err instanceof Deno.errors.NotFound) return false;
      if (err instanceof Deno.errors.WouldBlock) return true;
      throw err;
    }
  },
  remove: (path) => Deno.remove(path),
};
