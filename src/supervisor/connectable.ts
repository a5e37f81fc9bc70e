// When a process postern started serves: its socket accepts a connection
// (the WSGI adapter binds only once the app is imported; php-cgi once it
// is ready), tried every READY_POLL_MS while the process lives.

import type { Address } from "../address.ts";
import type { Runtime } from "../runtime.ts";

const READY_POLL_MS = 20;

/** True once `address` accepts; false when `alive()` turns false or after `giveUpMs`. */
export async function waitConnectable(runtime: Runtime, address: Address, alive: () => boolean, giveUpMs: number): Promise<boolean> {
  const deadline = Date.now() + giveUpMs;
  while (Date.now() < deadline && alive()) {
    try {
      (await runtime.connect(address)).close();
      return true;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS));
    }
  }
  return false;
}
