// What every gateway factory returns: a hono handler that can also be shut
// down (its pools closed, the processes it started stopped).

import type { Context, MiddlewareHandler } from "hono";
import { UNKNOWN_CONN, type ConnInfo } from "../src/cgi/conn.ts";
import { GatewayError, responseForError } from "../src/errors.ts";
import type { FileSystem, Runtime, ServeEnv } from "../src/runtime.ts";
import { SchemaError, validateTable, type GatewaySchema } from "../src/config-schema.ts";

export type GatewayHandler = MiddlewareHandler & {
  /** Settles when the route is set up (root checked, backends started); rejects on a setup error. */
  ready: Promise<void>;
  /** Stops accepting work for this route and releases what it holds. */
  close(): Promise<void>;
};

/** The connection facts the runtime put in the request's env (each runtime serves with a ServeEnv). */
export function connOf(c: Context): ConnInfo {
  return (c.env as Partial<ServeEnv> | undefined)?.conn ?? UNKNOWN_CONN;
}

/** Calls `listener` when the client goes away mid-request; returns the unsubscribe function. */
export function onClientGone(c: Context, listener: () => void): () => void {
  const env = c.env as Partial<ServeEnv> | undefined;
  if (env?.onClientGone) return env.onClientGone(listener);
  const signal = c.req.raw.signal;
  signal.addEventListener("abort", listener, { once: true });
  return () => signal.removeEventListener("abort", listener);
}

/** Validates programmatic options the same way postern.toml route keys are validated. */
export function gatewayOptions(name: string, schema: GatewaySchema, input: Record<string, unknown>): Record<string, unknown> {
  const options = validateTable(schema.fields, input, [], { owner: `gateway "${name}"` });
  const problem = schema.check?.(options);
  if (problem) throw new SchemaError([problem.key], problem.message);
  return options;
}

/** The client's answer for a failed request; the detail goes to the error log only. */
export function failure(runtime: Runtime, route: string, err: unknown): Response {
  if (err instanceof GatewayError && err.code === "CLIENT_CLOSED") return responseForError(err);
  const detail = err instanceof GatewayError ? `${err.code}: ${err.message}` : `INTERNAL: ${String(err)}`;
  runtime.logError(`${route}: ${detail}`);
  return responseForError(err);
}

/** The real path of a route's root, which must be a directory: a setup error otherwise. */
export async function realRootDirectory(fs: FileSystem, root: string, route: string): Promise<string> {
  const real = await fs.realpath(root);
  const stat = real === null ? null : await fs.stat(real);
  if (real === null || !stat?.isDirectory) throw new Error(`${route}: root ${JSON.stringify(root)} is not a directory`);
  return real;
}
