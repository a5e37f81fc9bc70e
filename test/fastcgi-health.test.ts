// Several php-fpm backends behind one fastcgi route: active health checks
// spoken in FastCGI to php-fpm's own ping.path, balancing over the backends
// that pass, and requests sent again when a backend dies between them.

import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, test } from "vitest";
import { requireBinary } from "./helpers/binaries.ts";
import { startPhpFpm, type PhpFpm } from "./helpers/php-fpm.ts";
import { startPostern, type RunningPostern } from "./helpers/postern.ts";

const PHP_FPM = requireBinary(["php-fpm8.2", "php-fpm"], "php-fpm");
const PHP_CGI = requireBinary(["php-cgi"], "php-cgi");
const ROOT = join(import.meta.dirname, "fixtures/php");
const PING = ["ping.path = /ping"];

const fpms: PhpFpm[] = [];
let postern: RunningPostern | undefined;
afterEach(async () => {
  await postern?.stop();
  postern = undefined;
  for (const fpm of fpms.splice(0)) await fpm.stop();
});

async function fpm(pool: string[] = PING): Promise<PhpFpm> {
  const started = await startPhpFpm(PHP_FPM!, { children: 2, pool });
  fpms.push(started);
  return started;
}

function route(backends: PhpFpm[], extra: string): string {
  const list = backends.map((b) => `"127.0.0.1:${b.port}"`).join(", ");
  return `[[routes]]\ngateway = "fastcgi"\nbackend = [${list}]\nroot = "${ROOT}"\n${extra}\n`;
}

/** Hello-world requests each backend has served. */
const hellos = (backend: PhpFpm) => backend.served().filter((line) => line === "GET /hello.php").length;

async function getAll(url: string, n: number, init?: RequestInit): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) {
    const res = await fetch(url, init);
    await res.arrayBuffer();
    statuses.push(res.status);
  }
  return statuses;
}

/** Polls until `condition`, at most 15 s; returns the time it took. */
async function until(condition: () => boolean): Promise<number> {
  const started = Date.now();
  while (!condition() && Date.now() - started < 15_000) await sleep(20);
  expect(condition()).toBe(true);
  return Date.now() - started;
}

const HEALTH = `health = { interval = "200ms", timeout = "1s", fails = 2, passes = 1 }`;

describe.skipIf(!PHP_FPM)("active health checks (FastCGI, php-fpm ping.path)", () => {
  test("a killed backend is taken out within interval x fails and gets nothing; started again, it is back", async () => {
    const [a, b] = [await fpm(), await fpm()];
    postern = await startPostern(route([a, b], `balance = "round_robin"\nkeepalive = false\n${HEALTH}`));
    expect(await getAll(`${postern.url}/hello.php`, 6)).toEqual(Array(6).fill(200));
    expect([hellos(a), hellos(b)]).toEqual([3, 3]);
    // php-fpm answers the checks itself, without a script.
    expect(a.served().filter((line) => line === "GET /ping").length).toBeGreaterThan(0);

    await a.crash();
    await until(() => postern!.errors.some((line) => line.includes(`127.0.0.1:${a.port}: failed its health check /ping; taken out`)));
    expect(await getAll(`${postern.url}/hello.php`, 6)).toEqual(Array(6).fill(200));
    expect(hellos(b)).toBe(9);

    await a.restart();
    await until(() => postern!.errors.some((line) => line.includes(`127.0.0.1:${a.port}: passed its health check /ping; back in service`)));
    expect(await getAll(`${postern.url}/hello.php`, 6)).toEqual(Array(6).fill(200));
    expect(hellos(a)).toBe(6);
  }, 60_000);

  test("a backend that takes connections but fails its check gets no request", async () => {
    // Without ping.path, php-fpm looks for a script called /ping: 404.
    const [a, b] = [await fpm(), await fpm([])];
    postern = await startPostern(route([a, b], `balance = "round_robin"\n${HEALTH}`));
    await until(() => postern!.errors.some((line) => line.includes(`127.0.0.1:${b.port}: failed its health check`)));
    expect(await getAll(`${postern.url}/hello.php`, 6)).toEqual(Array(6).fill(200));
    expect([hellos(a), hellos(b)]).toEqual([6, 0]);
  }, 60_000);

  test("a path other than php-fpm's ping runs that script under the root: passing backends stay in", async () => {
    const [a, b] = [await fpm([]), await fpm([])];
    postern = await startPostern(route([a, b], `balance = "round_robin"\nhealth = { path = "/hello.php", interval = "100ms", fails = 1 }`));
    await until(() => b.served().filter((line) => line === "GET /hello.php").length >= 3);
    expect(await getAll(`${postern.url}/env.php`, 4)).toEqual([200, 200, 200, 200]);
    expect([a, b].map((fpm) => fpm.served().filter((line) => line === "GET /env.php").length)).toEqual([2, 2]);
    expect(postern.errors.filter((line) => line.includes("health check"))).toEqual([]);
  }, 60_000);

  test("a backend whose one child is busy with a long request is not taken out: its ping waits for the child", async () => {
    const a = await startPhpFpm(PHP_FPM!, { children: 1, pool: PING });
    fpms.push(a);
    postern = await startPostern(route([a], `max_conns = 1\nhealth = { interval = "100ms", timeout = "200ms", fails = 2 }`));
    const long = fetch(`${postern.url}/sleep.php?ms=1500`).then((res) => res.status);
    const queued = fetch(`${postern.url}/hello.php`).then((res) => res.status);
    expect([await long, await queued]).toEqual([200, 200]);
    expect(postern.errors.filter((line) => line.includes("health check"))).toEqual([]);
  }, 60_000);

  test("a backend that hangs while postern holds an idle kept connection to it is still taken out", async () => {
    const a = await fpm();
    postern = await startPostern(route([a], `keepalive_timeout = "60s"\nhealth = { interval = "100ms", timeout = "300ms", fails = 2 }`));
    expect(await getAll(`${postern.url}/hello.php`, 1)).toEqual([200]);
    const children = a.children();
    for (const pid of children) process.kill(pid, "SIGSTOP");
    try {
      await until(() => postern!.errors.some((line) => line.includes("taken out")));
    } finally {
      for (const pid of children) process.kill(pid, "SIGCONT");
    }
  }, 60_000);

  test("every backend failing its check: 502 at once", async () => {
    const [a, b] = [await fpm([]), await fpm([])];
    postern = await startPostern(route([a, b], HEALTH));
    await until(() => postern!.errors.filter((line) => line.includes("taken out")).length === 2);
    const started = Date.now();
    expect(await getAll(`${postern.url}/hello.php`, 3)).toEqual([502, 502, 502]);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect([hellos(a), hellos(b)]).toEqual([0, 0]);
  }, 60_000);

  test("after close() (reload, shutdown) no check is sent", async () => {
    const a = await fpm();
    postern = await startPostern(route([a], HEALTH));
    await until(() => a.served().filter((line) => line === "GET /ping").length >= 2);
    await postern.stop();
    postern = undefined;
    await sleep(300); // a check in flight at close lands
    const seen = a.served().length;
    await sleep(1_000);
    expect(a.served().length).toBe(seen);
  }, 60_000);
});

describe.skipIf(!PHP_FPM)("retry on another backend (php-fpm)", () => {
  test("a backend killed between requests: its kept connection is stale, a GET is answered by the other", async () => {
    const [a, b] = [await fpm(), await fpm()];
    postern = await startPostern(route([a, b], 'balance = "round_robin"\nkeepalive_timeout = "60s"'));
    expect(await getAll(`${postern.url}/hello.php`, 4)).toEqual([200, 200, 200, 200]);
    await a.crash();
    expect(await getAll(`${postern.url}/hello.php`, 4)).toEqual([200, 200, 200, 200]);
    expect(hellos(b)).toBe(6);
  }, 60_000);

  test("a POST whose turn is the killed backend goes to the other: a refused connection carried nothing", async () => {
    const [a, b] = [await fpm(), await fpm()];
    postern = await startPostern(route([a, b], 'balance = "round_robin"\nkeepalive_timeout = "60s"'));
    expect(await getAll(`${postern.url}/env.php`, 2)).toEqual([200, 200]);
    await a.crash();
    expect(await getAll(`${postern.url}/env.php`, 1, { method: "POST", body: "x=1" })).toEqual([200]);
    expect(b.served().filter((line) => line.startsWith("POST"))).toEqual(["POST /env.php"]);
  }, 60_000);
});

describe.skipIf(!PHP_CGI)("active health checks of a spawned php-cgi", () => {
  test("an idle kept connection holds its one process: the check waits behind it and does not take the backend out", async () => {
    postern = await startPostern(`
[[routes]]
gateway = "fastcgi"
root = "${ROOT}"
spawn = { command = ["${PHP_CGI}"], procs = 1 }
keepalive_timeout = "60s"
health = { path = "/hello.php", interval = "100ms", timeout = "500ms", fails = 2 }
`);
    expect(await getAll(`${postern.url}/hello.php`, 1)).toEqual([200]);
    await sleep(2_500); // several checks, the first held past its timeout
    expect(await getAll(`${postern.url}/hello.php`, 3)).toEqual([200, 200, 200]);
    expect(postern.errors.filter((line) => line.includes("health check"))).toEqual([]);
  }, 60_000);
});

describe.skipIf(!PHP_FPM)("hash stickiness (php-fpm, capacity unknown)", () => {
  test.each<[string, (key: string) => Record<string, string>]>([
    ["header:X-Session", (key) => ({ "x-session": key })],
    // The key is one cookie among others, as a browser sends its session cookie.
    ["cookie:sid", (key) => ({ cookie: `theme=dark; sid=${key}; lang=en` })],
    // Every request comes from 127.0.0.1: one key whatever the loop calls it.
    ["client_ip", () => ({})],
  ])("hash_key = %j: 20 concurrent requests with one key all go to one backend: busy, it is waited for, not left", async (hashKey, keyed) => {
    const [a, b] = [await fpm([]), await fpm([])];
    postern = await startPostern(route([a, b], `balance = "hash"\nhash_key = "${hashKey}"`));
    const slept = (backend: PhpFpm) => backend.served().filter((line) => line.startsWith("GET /sleep.php")).length;
    for (const key of ["alice", "bob", "carol"]) {
      const before = [slept(a), slept(b)];
      const answers = await Promise.all(
        Array.from({ length: 20 }, () => fetch(`${postern!.url}/sleep.php?ms=50`, { headers: keyed(key) }).then((res) => res.status)),
      );
      expect(answers).toEqual(Array(20).fill(200));
      // php-fpm logs a request once it has answered it.
      const served = () => [slept(a) - before[0]!, slept(b) - before[1]!].sort((x, y) => x - y);
      await until(() => served()[0]! + served()[1]! === 20);
      expect(served(), key).toEqual([0, 20]);
    }
  }, 60_000);
});
