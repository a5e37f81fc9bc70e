// Threads for runtimes with Web Workers (Deno, Bun): the gateways' worker
// modules are written against the Web Worker contract already, so the
// thread is a plain module Worker.

import type { WorkerThread } from "../../src/runtime.ts";

export function startWebWorker(url: URL): WorkerThread {
  const worker = new Worker(url, { type: "module" });
  let ended = false;
  const exitListeners: ((error?: Error) => void)[] = [];
  const end = (error?: Error) => {
    if (ended) return;
    ended = true;
    for (const listener of exitListeners) listener(error);
  };
  // An exception nobody caught ends a worker (Deno, Bun); Bun also says "close" when one ends.
  worker.addEventListener("error", (event) => {
    event.preventDefault();
    end(new Error(event.message || "the worker failed"));
  });
  worker.addEventListener("close", () => end());
  return {
    postMessage: (message, transfer) => worker.postMessage(message, transfer ?? []),
    onMessage: (listener) => worker.addEventListener("message", (event) => listener((event as MessageEvent).data)),
    onExit: (listener) => void exitListeners.push(listener),
    async terminate() {
      ended = true;
      worker.terminate();
    },
  };
}
