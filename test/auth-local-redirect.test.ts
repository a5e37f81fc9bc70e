// A CGI local redirect (RFC 3875 §6.2.2) is served through the whole app as a
// new GET: the route it reaches runs its own modules on it. What the first
// route's auth or authorizer set for its backend (REMOTE_USER, AUTH_TYPE,
// Variable-*) must not reach the second route's, which never checked them.

import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { requireBinary } from "./helpers/binaries.ts";
import { startPostern, type RunningPostern } from "./helpers/postern.ts";
import { giveToScriptUser } from "./helpers/script-user.ts";

const HTPASSWD = requireBinary(["htpasswd"], "apache2-utils");
const dir = mkdtempSync(join(tmpdir(), "postern-auth-redirect-"));
let postern: RunningPostern;

beforeAll(async () => {
  mkdirSync(join(dir, "www/a"), { recursive: true });
  mkdirSync(join(dir, "www/b"), { recursive: true });
  writeFileSync(join(dir, "www/a/go.sh"), '#!/bin/sh\nprintf "Location: /b/who.sh\\r\\n\\r\\n"\n', { mode: 0o755 });
  writeFileSync(join(dir, "www/b/who.sh"), '#!/bin/sh\nprintf "Content-Type: text/plain\\r\\n\\r\\nuser=%s type=%s\\n" "$REMOTE_USER" "$AUTH_TYPE"\n', { mode: 0o755 });
  execFileSync(HTPASSWD!, ["-cbB", "-C", "4", join(dir, "users"), "alice", "secret"], { stdio: "ignore" });
  giveToScriptUser(dir);
  const routes = [
    `[[routes]]\npath = "/a/*"\ngateway = "cgi"\nroot = "${dir}/www"\nauth = { htpasswd = "${dir}/users" }\n`,
    `[[routes]]\npath = "/b/*"\ngateway = "cgi"\nroot = "${dir}/www"\n`,
  ];
  postern = await startPostern(routes.join("\n"));
});

afterAll(async () => {
  await postern?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test("the route a local redirect reaches gets no REMOTE_USER from the route that redirected", async () => {
  const authorization = `Basic ${btoa("alice:secret")}`;
  const answer = await fetch(`${postern.url}/a/go.sh`, { headers: { authorization } });
  expect(answer.status).toBe(200);
  expect(await answer.text()).toBe("user= type=\n");
  // Asked directly, with no auth of its own, the second route sees none either.
  expect(await (await fetch(`${postern.url}/b/who.sh`, { headers: { authorization } })).text()).toBe("user= type=\n");
});
