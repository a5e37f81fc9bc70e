// The first module of every postern worker thread on Node: it lets the
// thread load TypeScript sources, and gives the module it then loads the Web
// Worker contract (globalThis.postMessage and globalThis.onmessage) over
// worker_threads' parentPort.
import { parentPort, workerData } from "node:worker_threads";
import "./register.mjs";

globalThis.postMessage = (message, transfer) => parentPort.postMessage(message, transfer);
await import(workerData.url);
// Messages wait in the port until a listener is attached: none is lost while the module loads.
parentPort.on("message", (data) => globalThis.onmessage?.({ data }));
