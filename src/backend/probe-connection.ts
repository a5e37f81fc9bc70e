// The connection of one active health check (src/backend/health.ts Probe):
// its own, opened within the check's timeout, closed when the check is
// stopped (its timeout passed, or the route closed), which ends whatever
// read the probe waits on, and closed when the probe is done.

import type { Address } from "../address.ts";
import type { Duplex, Runtime } from "../runtime.ts";

/** Runs `ask` (the probe's request and its answer's status) on a connection of its own to `address`. */
export async function onProbeConnection(
  runtime: Runtime,
  address: Address,
  timeoutMs: number,
  stop: AbortSignal,
  ask: (duplex: Duplex) => Promise<number>,
): Promise<number> {
  const duplex = await runtime.connect(address, { timeoutMs });
  if (stop.aborted) {
    duplex.close();
    throw new Error("the check was stopped");
  }
  const onStop = () => duplex.close();
  stop.addEventListener("abort", onStop);
  try {
    return await ask(duplex);
  } finally {
    stop.removeEventListener("abort", onStop);
    duplex.close();
  }
}
