// What an attacker learns from, or costs, a Basic-auth route: a flood of
// wrong passwords (bcrypt computed in JavaScript, on the event loop) is
// checked a few at a time, and past the queue answered 503 at once instead
// of more CPU; an unknown user costs a bcrypt check when the file has bcrypt
// users. The runtime's bcrypt is the real one, counted, and held back until
// the test lets it go where checks must be running or waiting at the same
// time whatever the machine's speed; htpasswd files are Debian's `htpasswd`.

import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Hono } from "hono";
import { afterAll, expect, test } from "vitest";
import { parseHtpasswd } from "../gateways/route/auth/htpasswd.ts";
import { CHECKS_AT_ONCE, CHECKS_QUEUED } from "../gateways/route/auth/basic-auth.ts";
import { basicAuthMiddleware } from "../gateways/route/auth/middleware.ts";
import { passwordHashes } from "../runtimes/common/password-hashes.ts";
import { nodeRuntime } from "../runtimes/node/runtime.ts";
import { requireBinary } from "./helpers/binaries.ts";

const HTPASSWD = requireBinary(["htpasswd"], "apache2-utils");
const dir = mkdtempSync(join(tmpdir(), "postern-review-flood-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test.skipIf(!HTPASSWD)("wrong passwords past the running and queued checks are answered 503 without a check", async () => {
  const file = join(dir, "users");
  execFileSync(HTPASSWD!, ["-cbB", "-C", "4", file, "alice", "right"], { stdio: "ignore" });
  let started = 0;
  let letGo!: () => void;
  const gate = new Promise<void>((resolve) => (letGo = resolve));
  const runtime = {
    ...nodeRuntime,
    passwordHashes: {
      ...passwordHashes,
      bcrypt: async (password: string, stored: string) => {
        started++;
        await gate;
        return passwordHashes.bcrypt(password, stored);
      },
    },
  };
  const auth = basicAuthMiddleware(runtime, { htpasswd: file });
  await auth.ready;
  const app = new Hono();
  app.use("/*", auth);
  app.get("/", (c) => c.text("in"));
  const ask = async (password: string) => app.request("/", { headers: { authorization: `Basic ${btoa(`alice:${password}`)}` } });

  const flood = Array.from({ length: CHECKS_AT_ONCE + CHECKS_QUEUED + 5 }, () => ask("wrong"));
  // Five answers come while every check still waits for the gate: 503, sent at once.
  const answered: Response[] = [];
  for (const request of flood) void request.then((answer) => answered.push(answer));
  for (let waited = 0; answered.length < 5 && waited < 10_000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(answered.map((a) => [a.status, a.headers.get("retry-after")])).toEqual(Array.from({ length: 5 }, () => [503, "1"]));
  expect(started).toBe(CHECKS_AT_ONCE);
  letGo();
  const statuses = (await Promise.all(flood)).map((r) => r.status);
  expect(statuses.filter((s) => s === 401)).toHaveLength(CHECKS_AT_ONCE + CHECKS_QUEUED);
  expect(statuses.filter((s) => s === 503)).toHaveLength(5);
  expect((await ask("right")).status).toBe(200);
});

test.skipIf(!HTPASSWD)("an unknown user's password is checked against the costliest hash, not the first one", async () => {
  const file = join(dir, "mixed");
  execFileSync(HTPASSWD!, ["-cbs", file, "carol", "sha pass"], { stdio: "ignore" });
  execFileSync(HTPASSWD!, ["-bm", file, "bob", "md5 pass"], { stdio: "ignore" });
  execFileSync(HTPASSWD!, ["-bB", "-C", "5", file, "alice", "bcrypt pass"], { stdio: "ignore" });
  let bcrypts = 0;
  const runtime = { ...nodeRuntime, passwordHashes: { ...passwordHashes, bcrypt: async (password: string, stored: string) => (bcrypts++, passwordHashes.bcrypt(password, stored)) } };
  const auth = basicAuthMiddleware(runtime, { htpasswd: file });
  await auth.ready;
  const app = new Hono();
  app.use("/*", auth);
  app.get("/", (c) => c.text("in"));
  const answer = await app.request("/", { headers: { authorization: `Basic ${btoa("mallory:guess")}` } });
  expect(answer.status).toBe(401);
  expect(bcrypts).toBe(1);
});

test("a bcrypt hash of a cost htpasswd would not make is refused: each check would hold a password slot for minutes or days", () => {
  const salt = "$2y$10$" + "a".repeat(53);
  expect(parseHtpasswd(`alice:${salt}\n`, false).ok).toBe(true);
  expect(parseHtpasswd(`alice:${salt.replace("$10$", "$31$")}\n`, false)).toEqual({ ok: false, line: 1, message: 'user "alice": bcrypt cost 31: htpasswd -C takes 4 to 17' });
  expect(parseHtpasswd(`alice:${salt.replace("$10$", "$03$")}\n`, false)).toEqual({ ok: false, line: 1, message: 'user "alice": bcrypt cost 3: htpasswd -C takes 4 to 17' });
});

test.skipIf(!HTPASSWD)("a client that leaves while its password check waits gives up its place in the queue", async () => {
  const file = join(dir, "queue");
  execFileSync(HTPASSWD!, ["-cbB", "-C", "4", file, "alice", "right"], { stdio: "ignore" });
  let letGo!: () => void;
  const gate = new Promise<void>((resolve) => (letGo = resolve));
  let started = 0;
  const bcrypt = async (password: string, stored: string) => (started++, await gate, passwordHashes.bcrypt(password, stored));
  const auth = basicAuthMiddleware({ ...nodeRuntime, passwordHashes: { ...passwordHashes, bcrypt } }, { htpasswd: file });
  await auth.ready;
  const app = new Hono();
  app.use("/*", auth);
  app.get("/", (c) => c.text("in"));
  const ask = async (signal?: AbortSignal) => app.request("/", { headers: { authorization: `Basic ${btoa("alice:wrong")}` }, signal });
  const leaving = new AbortController();
  const full = Array.from({ length: CHECKS_AT_ONCE + CHECKS_QUEUED - 1 }, () => ask());
  const left = ask(leaving.signal);
  // The file's stat, which every request waits for, is done once checks start: the others are queued by then.
  while (started < CHECKS_AT_ONCE) await new Promise((resolve) => setTimeout(resolve, 10));
  await new Promise((resolve) => setTimeout(resolve, 50));
  leaving.abort();
  await left.catch(() => undefined);
  // The place it left is taken by the next request, which waits instead of being refused.
  const next = ask();
  const early = await Promise.race([next, new Promise((resolve) => setTimeout(resolve, 500, "waiting"))]);
  expect(early).toBe("waiting");
  letGo();
  expect((await next).status).toBe(401);
  expect((await Promise.all(full)).every((answer) => answer.status === 401)).toBe(true);
});
