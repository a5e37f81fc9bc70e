// Run by test/serve-ready.test.ts with Node, Deno or Bun: serve() of an app
// whose fastcgi route cannot be set up (its root does not exist) must reject
// and bind nothing; once that route is closed, a good app is served on the
// same address. Prints what happened as one JSON line.
// Arguments: the address to listen on, php-fpm's address, the PHP root.

import { Hono } from "hono";

type Postern = typeof import("../runtimes/node/index.ts");

const globals = globalThis as { Deno?: unknown; Bun?: unknown };
const runtime = globals.Deno ? "deno" : globals.Bun ? "bun" : "node";
const postern = (await import(`../runtimes/${runtime}/index.ts`)) as Postern;
const [listen, backend, root] = process.argv.slice(2) as [string, string, string];

const broken = postern.fastcgi({ root: "/does/not/exist", backend });
let rejected: string | null = null;
try {
  const server = await postern.serve(new Hono().all("*", broken), { listen: [listen] });
  await server.close();
} catch (err) {
  rejected = err instanceof Error ? err.message : String(err);
}
await broken.close();

const good = postern.fastcgi({ root, backend });
const server = await postern.serve(new Hono().all("*", good), { listen: [listen] });
const response = await fetch(`http://${listen}/hello.php`);
const result = { rejected, status: response.status, body: await response.text() };
await server.close();
await good.close();
console.log(JSON.stringify(result));
process.exit(0);
