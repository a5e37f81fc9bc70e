// gateway = "respond": one fixed answer for every request on a route's path.

import { afterAll, expect, test } from "vitest";
import { parseConfig } from "../src/config.ts";
import { gatewaySchemas } from "../gateways/index.ts";
import { startPostern, type RunningPostern } from "./helpers/postern.ts";

const running: RunningPostern[] = [];
afterAll(async () => Promise.all(running.map((p) => p.stop())));

/** postern serving `routes`, then a route answering "fallback" to everything else. */
async function app(routes: string) {
  const postern = await startPostern(`${routes}\n[[routes]]\npath = "*"\ngateway = "respond"\nstatus = 200\nbody = "fallback"\n`);
  running.push(postern);
  return { request: (path: string, init?: RequestInit) => fetch(postern.url + path, init) };
}

test("a directory answered 403 whatever the method, path or body; the next route answers the rest", async () => {
  const served = await app('[[routes]]\npath = "/inc/*"\ngateway = "respond"\n');
  for (const [method, path] of [["GET", "/inc/init.php"], ["POST", "/inc/"], ["DELETE", "/inc/a/b/c"]] as const) {
    const answer = await served.request(path, { method, body: method === "POST" ? "x".repeat(1000) : undefined });
    expect(answer.status, `${method} ${path}`).toBe(403);
    expect(await answer.text()).toBe("403 Forbidden\n");
  }
  expect(await (await served.request("/index.php")).text()).toBe("fallback");
});

test("a 2xx with a body is a fixed text; HEAD has its fields and no body; 204 has neither", async () => {
  const served = await app('[[routes]]\npath = "/health"\ngateway = "respond"\nstatus = 200\nbody = "ok"\n[[routes]]\npath = "/gone"\ngateway = "respond"\nstatus = 204\nbody = "ignored"\n');
  const ok = await served.request("/health");
  expect([ok.status, ok.headers.get("content-type"), await ok.text()]).toEqual([200, "text/plain; charset=utf-8", "ok"]);
  const head = await served.request("/health", { method: "HEAD" });
  expect([head.status, head.headers.get("content-type"), await head.text()]).toEqual([200, "text/plain; charset=utf-8", ""]);
  const none = await served.request("/gone");
  expect([none.status, none.headers.get("content-type"), await none.text()]).toEqual([204, null, ""]);
});

test("404 hides the directory; route modules apply (headers)", async () => {
  const served = await app('[[routes]]\npath = "/data/*"\ngateway = "respond"\nstatus = 404\nheaders = { set = { "X-Robots-Tag" = "noindex" } }\n');
  const answer = await served.request("/data/pages/start.txt");
  expect([answer.status, answer.headers.get("x-robots-tag"), await answer.text()]).toEqual([404, "noindex", "404 Not Found\n"]);
});

test.each([[301], [308], [199], [600]])("status %i is refused, naming the key and the line", (status) => {
  const toml = `[[routes]]\npath = "/x/*"\ngateway = "respond"\nstatus = ${status}\n`;
  expect(() => parseConfig(toml, "postern.toml", gatewaySchemas)).toThrow(/^postern\.toml:4: routes\[0\]\.status: /);
});
