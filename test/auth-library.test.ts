// The library's basicAuth middleware (the `auth` route key for an app
// written in code): it guards the app's own handlers and the gateways behind
// it, and hands them REMOTE_USER and AUTH_TYPE.

import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Hono } from "hono";
import { afterAll, describe, expect, test } from "vitest";
import { bindGateways } from "../gateways/index.ts";
import { nodeRuntime } from "../runtimes/node/runtime.ts";
import { variablesOf } from "../src/cgi/env.ts";
import { basic } from "./helpers/auth-php.ts";
import { requireBinary } from "./helpers/binaries.ts";

const HTPASSWD = requireBinary(["htpasswd"], "apache2-utils");

describe.skipIf(!HTPASSWD)("basicAuth()", () => {
  const dir = mkdtempSync(join(tmpdir(), "postern-auth-library-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("guards the app's handlers: 401 without the password, REMOTE_USER with it", async () => {
    const file = join(dir, "users");
    execFileSync(HTPASSWD!, ["-c", "-b", "-B", file, "alice", "secret"], { stdio: "ignore" });
    const { basicAuth, gatewaysReady } = bindGateways(nodeRuntime);
    const app = new Hono();
    app.use("/admin/*", basicAuth({ htpasswd: file, realm: "admin" }));
    app.get("/admin/who", (c) => c.text(`${variablesOf(c.env)?.REMOTE_USER} ${variablesOf(c.env)?.AUTH_TYPE}`));
    app.get("/open", (c) => c.text("open"));
    await gatewaysReady();
    const get = (path: string, authorization?: string) => app.fetch(new Request(`http://x${path}`, { headers: authorization ? { authorization } : {} }));
    const refused = await get("/admin/who");
    expect(refused.status).toBe(401);
    expect(refused.headers.get("www-authenticate")).toBe('Basic realm="admin", charset="UTF-8"');
    expect(await (await get("/admin/who", basic("alice", "secret"))).text()).toBe("alice Basic");
    expect((await get("/admin/who", basic("alice", "wrong"))).status).toBe(401);
    expect(await (await get("/open")).text()).toBe("open");
  });

  test("wrong options are named as the route key's are", () => {
    const { basicAuth } = bindGateways(nodeRuntime);
    expect(() => basicAuth({ htpasswd: "x", realm: 5 as unknown as string })).toThrow(/^realm: expected a string/);
  });
});
