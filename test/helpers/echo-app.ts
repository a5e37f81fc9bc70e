// An app that answers each request with what it received (method, target,
// fields, body in base64), for tests of what a server hands its app. It
// notes the requests whose body it read to the end; GET /__served returns
// that list and empties it. Web APIs only: it runs on Node, Deno and Bun.

import { Hono } from "hono";

export function echoApp(): Hono {
  const served: string[] = [];
  const app = new Hono();
  app.get("/__health", (c) => c.text("ok"));
  app.get("/__served", (c) => c.json(served.splice(0)));
  app.all("*", async (c) => {
    const url = new URL(c.req.url);
    let body: Uint8Array;
    try {
      body = new Uint8Array(await c.req.arrayBuffer());
    } catch {
      return c.text("body never completed", 400); // the connection is gone; nobody reads this
    }
    served.push(`${c.req.method} ${url.pathname}`);
    let latin1 = "";
    for (const byte of body) latin1 += String.fromCharCode(byte);
    return c.json({ method: c.req.method, target: url.pathname + url.search, headers: [...c.req.raw.headers], body: btoa(latin1) });
  });
  return app;
}
