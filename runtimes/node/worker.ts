// Threads for Node (worker_threads) with the Web Worker contract the
// gateways' worker modules are written against (see worker-bootstrap.mjs).

import { Worker } from "node:worker_threads";
import type { WorkerThread } from "../../src/runtime.ts";

const BOOTSTRAP = new URL("./worker-bootstrap.mjs", import.meta.url);

export function startWorker(url: URL): WorkerThread {
  const worker = new Worker(BOOTSTRAP, { workerData: { url: url.href } });
  return {
    postMessage: (message, transfer) => worker.postMessage(message, transfer),
    onMessage: (listener) => void worker.on("message", listener),
    onExit(listener) {
      let error: Error | undefined;
      worker.once("error", (err) => (error = err));
      worker.once("exit", () => listener(error));
    },
    terminate: async () => {
      await worker.terminate();
    },
  };
}
