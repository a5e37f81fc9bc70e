// A FastCGI backend that dies must fail requests at once, whatever the pool
// had learned about it before (nginx answers 502 at once): never hold them in
// the queue until queue_timeout. On Node, Deno and Bun (the pool sees a
// runtime's connections closing and its connect errors). A live backend
// beside a dead one keeps serving, and a backend postern runs itself is
// waited for while it restarts. Active health checks run on each runtime, and
// a process serving them exits on SIGTERM (no check timer holds it).

import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { requireBinary } from "./helpers/binaries.ts";
import { startFakeFastCgi } from "./helpers/fake-fastcgi.ts";
import { startPhpFpm, type PhpFpm } from "./helpers/php-fpm.ts";
import { freePort } from "./helpers/ports.ts";
import { POSTERN_CLI, type CliRuntime } from "./helpers/postern-cli.ts";
import { startPostern, type RunningPostern } from "./helpers/postern.ts";
import { startServerProcess } from "./helpers/server-process.ts";

const PHP_FPM = requireBinary(["php-fpm8.2", "php-fpm"], "php-fpm");
const PHP_CGI = requireBinary(["php-cgi"], "php-cgi");
const ROOT = join(import.meta.dirname, "fixtures/php");
/** Far below the routes' queue_timeout (15 s), far above any real answer time. */
const FAST_MS = 5_000;

interface Answer {
  status: number;
  retryAfter: string | null;
  ms: number;
}

async function get(url: string): Promise<Answer> {
  const started = Date.now();
  const res = await fetch(url);
  await res.arrayBuffer();
  return { status: res.status, retryAfter: res.headers.get("retry-after"), ms: Date.now() - started };
}

/** A dead backend's answer: 502, or 503 that says when to retry. */
function isFailFast(a: Answer): boolean {
  return a.ms < FAST_MS && (a.status === 502 || (a.status === 503 && a.retryAfter !== null));
}

function burst(url: string, n: number): Promise<Answer[]> {
  return Promise.all(Array.from({ length: n }, () => get(url)));
}

const fpms: PhpFpm[] = [];
let postern: Pick<RunningPostern, "url" | "stop"> | undefined;
afterEach(async () => {
  await postern?.stop();
  postern = undefined;
  for (const fpm of fpms.splice(0)) await fpm.stop();
});

/** `postern serve` on `runtime`, in a process of its own. */
async function serveOn(runtime: CliRuntime, toml: string): Promise<Pick<RunningPostern, "url" | "stop">> {
  const dir = mkdtempSync(join(tmpdir(), "postern-down-"));
  const config = join(dir, "postern.toml");
  writeFileSync(config, `access_log = false\n${toml}`);
  const port = await freePort();
  const [binary, ...args] = POSTERN_CLI[runtime];
  const server = await startServerProcess({
    name: `postern on ${runtime}`,
    binary: binary!,
    args: [...args, "serve", "--config", config, "--listen", `127.0.0.1:${port}`],
    port,
    dir,
    errorLogPath: join(dir, "none"),
    stopSignal: "SIGTERM",
  });
  return { url: `http://127.0.0.1:${port}`, stop: () => server.stop() };
}

/** A route to php-fpm's unix socket, with a queue_timeout far past FAST_MS. */
function route(backend: PhpFpm, extra = ""): string {
  return `[[routes]]\ngateway = "fastcgi"\nbackend = "unix:${backend.socket}"\nroot = "${ROOT}"\nqueue_timeout = "15s"\n${extra}`;
}

/** Requests sent while the backend is busy, most of them queued, when it dies: each is answered, or fails fast. */
async function expectQueuedFailFast(url: string, backend: PhpFpm): Promise<void> {
  const queued = burst(`${url}/sleep.php?ms=400`, 32);
  await new Promise((r) => setTimeout(r, 200));
  await backend.crash();
  const answers = await queued;
  expect(answers.filter((a) => a.status !== 200 && !isFailFast(a)), JSON.stringify(answers)).toEqual([]);
}

async function fpm(children: number, pool: string[] = []): Promise<PhpFpm> {
  const started = await startPhpFpm(PHP_FPM!, { children, pool });
  fpms.push(started);
  return started;
}

describe.skipIf(!PHP_FPM).each(["node", "deno", "bun"] as const)("php-fpm killed, postern on %s", (runtime) => {
  test("after a burst (capacity learned): the next requests fail fast, not after queue_timeout", async () => {
    const backend = await fpm(2);
    postern = await serveOn(runtime, route(backend));
    const before = await burst(`${postern.url}/sleep.php?ms=5`, 64);
    expect(before.filter((a) => a.status !== 200)).toEqual([]);
    await backend.crash();
    const after = await get(`${postern.url}/hello.php`);
    expect(after, JSON.stringify(after)).toSatisfy(isFailFast);
    const more = await burst(`${postern.url}/hello.php`, 16);
    expect(more.filter((a) => !isFailFast(a)), JSON.stringify(more)).toEqual([]);
  });

  test("capacity unknown: requests queued behind the backend when it dies fail fast", async () => {
    const backend = await fpm(2);
    postern = await serveOn(runtime, route(backend));
    await expectQueuedFailFast(postern.url, backend);
  });

  test("a kept connection the backend closes as a request arrives: a GET is sent again, a POST is not", async () => {
    // php-fpm cannot be made to close a connection just then; the fake does it on cue.
    const fake = await startFakeFastCgi();
    try {
      postern = await serveOn(runtime, `[[routes]]\ngateway = "fastcgi"\nbackend = "${fake.address}"\nroot = "${ROOT}"\n`);
      expect((await get(`${postern.url}/hello.php`)).status).toBe(200);
      fake.next((req) => req.close());
      expect((await get(`${postern.url}/hello.php`)).status).toBe(200);
      expect(fake.stats.requests).toBe(3);
      fake.next((req) => req.close());
      const post = await fetch(`${postern.url}/hello.php`, { method: "POST", body: "a=1" });
      await post.arrayBuffer();
      expect(post.status).toBe(502);
      expect(fake.stats.requests).toBe(4);
    } finally {
      await postern?.stop();
      postern = undefined;
      await fake.close();
    }
  });

  test("active health checks run on this runtime: a backend failing its check gets no request", async () => {
    // Only `good` answers php-fpm's ping; `failing` looks for a script called /ping (404).
    const good = await fpm(2, ["ping.path = /ping"]);
    const failing = await fpm(2);
    postern = await serveOn(
      runtime,
      `[[routes]]\ngateway = "fastcgi"\nbackend = ["127.0.0.1:${good.port}", "127.0.0.1:${failing.port}"]\nroot = "${ROOT}"\n` +
        `balance = "round_robin"\nhealth = { interval = "100ms", fails = 2 }\n`,
    );
    // A third check is asked only once the second has been counted.
    const pings = () => failing.served().filter((line) => line === "GET /ping").length;
    for (let i = 0; i < 500 && pings() < 3; i++) await new Promise((r) => setTimeout(r, 20));
    expect(pings()).toBeGreaterThanOrEqual(3);
    const answers = await burst(`${postern.url}/hello.php`, 8);
    expect(answers.map((a) => a.status)).toEqual(Array(8).fill(200));
    expect(failing.served().filter((line) => line === "GET /hello.php")).toEqual([]);
    expect(good.served().filter((line) => line === "GET /hello.php")).toHaveLength(8);
  });
});

describe.skipIf(!PHP_FPM)("php-fpm killed", () => {
  test("with max_conns: requests queued behind the backend when it dies fail fast", async () => {
    const backend = await fpm(2);
    postern = await startPostern(route(backend, "max_conns = 2\n"));
    await expectQueuedFailFast(postern.url, backend);
    expect(await get(`${postern.url}/hello.php`)).toSatisfy(isFailFast);
  });

  test("one of two backends dies after a burst: requests go to the live one", async () => {
    const dead = await fpm(2);
    const live = await fpm(2);
    postern = await startPostern(`
[[routes]]
gateway = "fastcgi"
backend = ["unix:${dead.socket}", "unix:${live.socket}"]
root = "${ROOT}"
`);
    expect((await burst(`${postern.url}/sleep.php?ms=5`, 64)).filter((a) => a.status !== 200)).toEqual([]);
    await dead.crash();
    const after = await burst(`${postern.url}/sleep.php?ms=5`, 32);
    expect(after.filter((a) => a.status !== 200), JSON.stringify(after)).toEqual([]);
  });
});

/** The pids of this process's php-cgi children. */
function phpCgiChildren(): number[] {
  const children = readdirSync(`/proc/${process.pid}/task`).flatMap((task) =>
    readFileSync(`/proc/${process.pid}/task/${task}/children`, "utf8").split(/\s+/).filter(Boolean).map(Number),
  );
  return children.filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("php-cgi");
    } catch {
      return false;
    }
  });
}

describe.skipIf(!PHP_CGI)("spawned php-cgi killed", () => {
  test("requests wait while it restarts, then succeed", async () => {
    postern = await startPostern(`
[[routes]]
gateway = "fastcgi"
root = "${ROOT}"
spawn = { command = ["${PHP_CGI}"], procs = 1 }
`);
    expect((await burst(`${postern.url}/sleep.php?ms=5`, 16)).filter((a) => a.status !== 200)).toEqual([]);
    const [pid] = phpCgiChildren();
    expect(pid).toBeDefined();
    process.kill(pid!, "SIGKILL");
    const after = await burst(`${postern.url}/hello.php`, 16);
    expect(after.filter((a) => a.status !== 200), JSON.stringify(after)).toEqual([]);
  });
});
