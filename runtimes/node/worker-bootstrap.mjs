// The first module of every postern worker thread on Node: it gives the
// module it then loads the Web Worker contract (globalThis.postMessage and
// globalThis.onmessage) over worker_threads' parentPort, and lets the thread
// load TypeScript when that module is a source file (a checkout; the built
// package's modules are JavaScript and load as they are).
import { parentPort, workerData } from "node:worker_threads";

if (workerData.url.endsWith(".ts")) await import("./register.mjs");
globalThis.postMessage = (message, transfer) => parentPort.postMessage(message, transfer);
await import(workerData.url);
// Messages wait in the port until a listener is attached: none is lost while the module loads.
parentPort.on("message", (data) => globalThis.onmessage?.({ data }));
