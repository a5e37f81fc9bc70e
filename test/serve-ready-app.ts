// Run by test/serve-ready.test.ts with Node, Deno or Bun: serve() of an app
// whose fastcgi route cannot be set up (its root does not exist) must reject
// and bind nothing, each time it is tried; that route, never closed, then
// holds up the next serve() of an app without it once, naming it, and the
// one after serves. Prints what happened as one JSON line.
// Arguments: the address to listen on, php-fpm's address, the PHP root.

import { Hono } from "hono";

type Postern = typeof import("../runtimes/node/index.ts");

const globals = globalThis as { Deno?: unknown; Bun?: unknown };
const runtime = globals.Deno ? "deno" : globals.Bun ? "bun" : "node";
const postern = (await import(`../runtimes/${runtime}/index.ts`)) as Postern;
const [listen, backend, root] = process.argv.slice(2) as [string, string, string];

/** The message serve() rejected with, or null once it serves (then stopped). */
async function attempt(app: Hono): Promise<string | null> {
  try {
    const server = await postern.serve(app, { listen: [listen] });
    await server.close();
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

const broken = postern.fastcgi({ root: "/does/not/exist", backend });
const good = postern.fastcgi({ root, backend });
const rejected = [await attempt(new Hono().all("*", broken)), await attempt(new Hono().all("*", broken)), await attempt(new Hono().all("*", good))];

const server = await postern.serve(new Hono().all("*", good), { listen: [listen] });
const response = await fetch(`http://${listen}/hello.php`);
const result = { rejected, status: response.status, body: await response.text() };
await server.close();
await Promise.all([broken.close(), good.close()]);
console.log(JSON.stringify(result));
process.exit(0);
