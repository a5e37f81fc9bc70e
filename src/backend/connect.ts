// A connection to a backend, its failures as the gateway's errors: a connect
// that takes over connect_timeout is a 504, any other failure (refused,
// unreachable, no such socket) a 502 (DESIGN.md, "HTTP answers of the
// gateway itself").

import { formatAddress, type Address } from "../address.ts";
import { GatewayError } from "../errors.ts";
import type { Duplex, Runtime } from "../runtime.ts";

export async function connectBackend(runtime: Runtime, addr: Address, timeoutMs: number): Promise<Duplex> {
  try {
    return await runtime.connect(addr, { timeoutMs });
  } catch (err) {
    if ((err as Error).name === "TimeoutError") {
      throw new GatewayError("BACKEND_CONNECT_TIMEOUT", `connecting to ${formatAddress(addr)} took over ${timeoutMs} ms`);
    }
    throw new GatewayError("BACKEND_UNREACHABLE", `${formatAddress(addr)}: ${(err as Error).message}`, { cause: err });
  }
}
