// Checks the Runtime's Duplex (src/runtime.ts) of whichever runtime runs this
// file, over loopback TCP, and prints one JSON line: whether a peer's close is
// seen while nobody reads, and whether two writes made at once arrive whole,
// one after the other.
import { createServer, type Socket } from "node:net";
import * as postern from "postern";

const runtime = [postern].flatMap((m) => Object.entries(m)).find(([name]) => name.endsWith("Runtime"))![1] as {
  connect(addr: { kind: "tcp"; host: string; port: number }): Promise<{ read(): Promise<Uint8Array | null>; write(b: Uint8Array): Promise<void>; readonly closed: boolean; close(): void }>;
};

function listen(onSocket: (socket: Socket) => void): Promise<{ port: number; close(): void }> {
  return new Promise((resolve) => {
    const server = createServer(onSocket);
    server.listen(0, "127.0.0.1", () => resolve({ port: (server.address() as { port: number }).port, close: () => server.close() }));
  });
}

const closing = await listen((socket) => socket.end());
const idle = await runtime.connect({ kind: "tcp", host: "127.0.0.1", port: closing.port });
await new Promise((resolve) => setTimeout(resolve, 300));
const closedSeen = idle.closed;
idle.close();
closing.close();

const MiB = 1024 * 1024;
const echo = await listen((socket) => socket.pipe(socket));
const duplex = await runtime.connect({ kind: "tcp", host: "127.0.0.1", port: echo.port });
const a = new Uint8Array(4 * MiB).fill(0x61);
const b = new Uint8Array(4 * MiB).fill(0x62);
const reading = (async () => {
  const chunks: Uint8Array[] = [];
  let total = 0;
  while (total < 8 * MiB) {
    const chunk = await duplex.read();
    if (!chunk) break;
    chunks.push(chunk.slice());
    total += chunk.byteLength;
  }
  return chunks;
})();
await Promise.all([duplex.write(a), duplex.write(b)]);
const received = await reading;
const all = new Uint8Array(received.reduce((n, c) => n + c.byteLength, 0));
let at = 0;
for (const chunk of received) {
  all.set(chunk, at);
  at += chunk.byteLength;
}
const inOrder = all.byteLength === 8 * MiB && all.subarray(0, 4 * MiB).every((x) => x === 0x61) && all.subarray(4 * MiB).every((x) => x === 0x62);
duplex.close();
echo.close();
console.log(JSON.stringify({ closedSeen, inOrder }));
