// A free loopback TCP port for a server a test starts. Chosen below Linux's
// ephemeral range (32768-60999), so that outgoing connections of a busy
// machine cannot take it between this check and the server's own bind.

import { createServer } from "node:net";

const LOW = 20_000;
const HIGH = 32_000;

export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = LOW + Math.floor(Math.random() * (HIGH - LOW));
    if (await bindable(port)) return port;
  }
  throw new Error(`no free port found in ${LOW}-${HIGH}`);
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}
