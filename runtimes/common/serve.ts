// What every runtime's serve() takes and gives back.

import type { Address } from "../../src/address.ts";
import type { RequestHeadLimits } from "../../src/http/request-head.ts";
import type { ServeEnv } from "../../src/runtime.ts";

export interface Fetchable {
  fetch(request: Request, env: ServeEnv): Response | Promise<Response>;
}

export interface ServeOptions {
  listen: string[];
  /** Largest request line plus headers, in bytes: beyond it the client gets 431 (Node; Deno and Bun apply their own). */
  maxHeaderSize?: number;
  /** Field count, field line and request line limits (src/http/request-head.ts has the defaults). */
  limits?: RequestHeadLimits;
}

export interface RunningServer {
  /** The addresses actually bound (port 0 resolved). */
  readonly addresses: Address[];
  /** Stops accepting, waits for in-flight requests, then resolves. */
  close(): Promise<void>;
}
