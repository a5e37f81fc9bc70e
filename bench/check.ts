// The check a case makes before it measures: every server answers the
// scenario's path as expected, so no row measures error pages.

import type { Server } from "./case.ts";

/** GET `path` from `server`: 200 (and `body`, when given), else an error with the server's log. */
export async function expectAnswer(server: Server, path: string, body?: string): Promise<void> {
  const res = await fetch(`${server.url}${path}`);
  const text = await res.text();
  if (res.status !== 200 || (body !== undefined && text !== body)) {
    throw new Error(`${server.name}: GET ${path} answered ${res.status} ${JSON.stringify(text.slice(0, 200))}: ${server.errorLog()}`);
  }
}
