// The WSGI adapter as a process (gateways/wsgi/adapter/postern_wsgi.py), run
// by itself and spoken to in FastCGI with postern's own codec: boot failure,
// the socket, FCGI_GET_VALUES, kept connections, a body bounded by
// CONTENT_LENGTH, and its signals: SIGUSR1's stack dump, SIGTERM's drain,
// and exit when its parent dies.

import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { probeValues } from "../gateways/fastcgi/capacity.ts";
import { RecordReader } from "../gateways/fastcgi/reader.ts";
import { decodeEndRequest, encodeStream, encodeStreamEnd, FCGI_KEEP_CONN, RecordType } from "../gateways/fastcgi/record.ts";
import { encodeRequestStart } from "../gateways/fastcgi/request.ts";
import { nodeRuntime } from "../runtimes/node/runtime.ts";
import { adapterCommand, running, spawnAdapter, until, type AdapterProcess } from "./helpers/wsgi.ts";

const started: AdapterProcess[] = [];
afterEach(() => {
  for (const p of started.splice(0)) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGKILL");
});

/** The adapter serving probes (test/fixtures/wsgi/probes.py), once its socket accepts (it exists from bind(), before listen()). */
async function adapter(app = "probes:raw", args: string[] = []): Promise<AdapterProcess> {
  const p = spawnAdapter(app, args);
  started.push(p);
  for (;;) {
    await until(`the adapter's socket (stderr: ${p.stderr()})`, () => existsSync(p.socket) || p.child.exitCode !== null);
    if (p.child.exitCode !== null) throw new Error(`the adapter exited: ${p.stderr()}`);
    const sock = await open(p.socket).catch(() => undefined);
    if (sock) {
      sock.destroy();
      return p;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function open(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const sock = connect(path);
    sock.once("connect", () => resolve(sock));
    sock.once("error", reject);
  });
}

interface Answer {
  stdout: string;
  stderr: string;
  protocolStatus: number;
}

/** Reads one request's records from `sock` until its FCGI_END_REQUEST. */
function answerOf(sock: Socket, id: number): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const reader = new RecordReader();
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const onData = (chunk: Buffer) => {
      reader.push(chunk, (record) => {
        if (record.requestId !== id) return;
        if (record.type === RecordType.STDOUT) out.push(Buffer.from(record.content));
        if (record.type === RecordType.STDERR) err.push(Buffer.from(record.content));
        if (record.type === RecordType.END_REQUEST) {
          sock.off("data", onData);
          const stdout = Buffer.concat(out).toString("latin1");
          resolve({ stdout, stderr: Buffer.concat(err).toString(), protocolStatus: decodeEndRequest(record.content).protocolStatus });
        }
      });
    };
    sock.on("data", onData);
    sock.once("error", reject);
    sock.once("close", () => reject(new Error("connection closed before FCGI_END_REQUEST")));
  });
}

const PARAMS = { REQUEST_METHOD: "POST", SCRIPT_NAME: "", SERVER_NAME: "localhost", SERVER_PORT: "80", SERVER_PROTOCOL: "HTTP/1.1" };

/** One Responder request on `sock`; `body` whole in the first write. */
function request(sock: Socket, id: number, path: string, o: { keep?: boolean; body?: string; params?: Record<string, string> } = {}): Promise<Answer> {
  const [pathInfo, query = ""] = path.split("?");
  const params = { ...PARAMS, PATH_INFO: pathInfo!, QUERY_STRING: query, ...o.params };
  const answer = answerOf(sock, id);
  sock.write(encodeRequestStart(id, o.keep === false ? 0 : FCGI_KEEP_CONN, Object.entries(params), o.body === undefined ? null : Buffer.from(o.body)));
  return answer;
}

const bodyOf = (answer: Answer) => answer.stdout.slice(answer.stdout.indexOf("\r\n\r\n") + 4);
const closed = (sock: Socket) => new Promise<void>((resolve) => (sock.closed ? resolve() : sock.once("close", () => resolve())));

describe("boot failure: exit status 3 with the traceback, before the socket exists", () => {
  test.each([
    ["broken_import", /ModuleNotFoundError: No module named 'no_such_module_for_the_boot_test'/],
    ["no_such_module:app", /No module named 'no_such_module'/],
    ["probes:missing", /has no attribute 'missing'/],
    ["not_callable", /is a str, not a callable WSGI application/],
  ])("%s", async (app, message) => {
    const p = spawnAdapter(app);
    started.push(p);
    expect(await p.exited).toBe(3);
    expect(p.stderr()).toMatch(/Traceback \(most recent call last\)/);
    expect(p.stderr()).toMatch(message);
    expect(existsSync(p.socket)).toBe(false);
  });
});

describe("finding the application", () => {
  test.each([
    ["a factory call", "factory:create_app()", [], "made by the factory"],
    ["a module on --pythonpath (comma-separated)", "elsewhere:app", ["--pythonpath", "/nonexistent,{dir}"], "found elsewhere"],
  ])("%s", async (_name, app, args, body) => {
    const dir = mkdtempSync(join(tmpdir(), "postern-adapter-"));
    writeFileSync(join(dir, "elsewhere.py"), 'def app(environ, start_response):\n    start_response("200 OK", [])\n    return [b"found elsewhere"]\n');
    try {
      const p = await adapter(app, args.map((arg) => arg.replace("{dir}", dir)));
      const sock = await open(p.socket);
      expect(bodyOf(await request(sock, 1, "/"))).toBe(body);
      sock.destroy();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

test("the socket is mode 0600 and FCGI_GET_VALUES says one request per connection, --threads connections", async () => {
  const p = await adapter("probes:raw", ["--threads", "3"]);
  expect(statSync(p.socket).mode & 0o777).toBe(0o600);
  const values = await probeValues(nodeRuntime, { kind: "unix", path: p.socket }, 5_000);
  expect(values).toEqual({ maxConns: 3, maxReqs: 3, multiplexed: false });
});

test("FCGI_KEEP_CONN keeps the connection for the next request; without it the adapter closes it", async () => {
  const p = await adapter();
  const sock = await open(p.socket);
  try {
    expect(bodyOf(await request(sock, 1, "/hello"))).toBe("Hello, World!");
    expect(bodyOf(await request(sock, 2, "/hello"))).toBe("Hello, World!");
    const last = await request(sock, 3, "/hello", { keep: false });
    expect(last.protocolStatus).toBe(0);
    await closed(sock);
  } finally {
    sock.destroy();
  }
});

test("a second request sent while the first is being read gets FCGI_CANT_MPX_CONN; one sent while it runs waits its turn", async () => {
  const p = await adapter();
  const sock = await open(p.socket);
  try {
    // Request 1's body comes after request 2's opening: the application meets request 2 reading it.
    const first = answerOf(sock, 1);
    const second = answerOf(sock, 2);
    const params = (path: string, length: string) => Object.entries({ ...PARAMS, PATH_INFO: path, QUERY_STRING: "mode=read", CONTENT_LENGTH: length });
    sock.write(encodeRequestStart(1, FCGI_KEEP_CONN, params("/input", "5"), "stream"));
    sock.write(encodeRequestStart(2, FCGI_KEEP_CONN, params("/hello", "0"), null));
    sock.write(Buffer.concat([encodeStream(RecordType.STDIN, 1, Buffer.from("hello")), encodeStreamEnd(RecordType.STDIN, 1)]));
    expect((await second).protocolStatus).toBe(1); // FastCGI spec §5.5 FCGI_CANT_MPX_CONN
    expect(JSON.parse(bodyOf(await first))).toMatchObject({ body: "hello" });
    // Sent while request 3 sleeps, request 4 is read and served after it.
    const third = request(sock, 3, "/sleep?seconds=0.3");
    const fourth = await request(sock, 4, "/hello");
    expect(fourth.protocolStatus).toBe(0);
    expect(bodyOf(fourth)).toBe("Hello, World!");
    expect(bodyOf(await third)).toBe("slept 0.3");
  } finally {
    sock.destroy();
  }
});

test("--threads 2 serves two connections at once, each on its own thread", async () => {
  const p = await adapter("probes:raw", ["--threads", "2"]);
  const socks = [await open(p.socket), await open(p.socket)];
  try {
    // One thread would serve the two connections one after the other, and name itself twice.
    const answers = await Promise.all(socks.map((sock) => request(sock, 1, "/threads?sleep=0.5")));
    const names = answers.map(bodyOf);
    expect(new Set(names).size).toBe(2);
  } finally {
    for (const sock of socks) sock.destroy();
  }
});

test("an accept() that fails for want of descriptors (EMFILE) is tried again: the thread does not stop serving", async () => {
  const p = await adapter();
  const first = await open(p.socket);
  try {
    expect(bodyOf(await request(first, 1, "/fd-limit?seconds=2", { keep: false }))).toBe("limited");
    await closed(first);
    // The only thread comes back to accept() while no descriptor can be made.
    const second = await open(p.socket);
    try {
      expect(bodyOf(await request(second, 1, "/hello"))).toBe("Hello, World!");
    } finally {
      second.destroy();
    }
  } finally {
    first.destroy();
  }
});

/** The records that come on `sock` for a request after its FCGI_END_REQUEST: postern drops a connection that sends one. */
function lateRecords(sock: Socket): string[] {
  const ended = new Set<number>();
  const late: string[] = [];
  const reader = new RecordReader();
  sock.on("data", (chunk: Buffer) =>
    reader.push(chunk, (record) => {
      if (ended.has(record.requestId)) late.push(`type ${record.type} after the end of request ${record.requestId}`);
      if (record.type === RecordType.END_REQUEST) ended.add(record.requestId);
    }),
  );
  return late;
}

test.each([
  ["wsgi.errors", "/errors-flood?seconds=0.05", "flooding"],
  ["write()", "/late-write", "on time"],
])("%s used by a thread the application left running sends nothing after its request's FCGI_END_REQUEST", async (_name, path, body) => {
  const p = await adapter();
  const sock = await open(p.socket);
  const late = lateRecords(sock);
  try {
    for (let id = 1; id <= 40; id++) expect(bodyOf(await request(sock, id, path))).toBe(body);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(late).toEqual([]);
  } finally {
    sock.destroy();
  }
});

test("wsgi.input read by a thread the application left running takes nothing from the requests that follow", async () => {
  const p = await adapter();
  const sock = await open(p.socket);
  try {
    for (let id = 1; id <= 20; id += 2) {
      const late = request(sock, id, "/late-read", { body: "x".repeat(100), params: { CONTENT_LENGTH: "100" } });
      expect(bodyOf(await late)).toBe("on time");
      await new Promise((resolve) => setTimeout(resolve, 5));
      const next = await request(sock, id + 1, "/input?mode=read", { body: "0123456789", params: { CONTENT_LENGTH: "10" } });
      expect(JSON.parse(bodyOf(next))).toMatchObject({ body: "0123456789" });
    }
  } finally {
    sock.destroy();
  }
});

test("FCGI_STDOUT ends with its empty record before FCGI_END_REQUEST (FastCGI spec §3.3)", async () => {
  const p = await adapter();
  const sock = await open(p.socket);
  const types: string[] = [];
  const reader = new RecordReader();
  sock.on("data", (chunk: Buffer) => reader.push(chunk, (record) => types.push(`${record.type}:${record.content.length > 0 ? "data" : "empty"}`)));
  try {
    for (const [id, path] of [[1, "/hello"], [2, "/raise"], [3, "/write"]] as const) {
      types.length = 0;
      await request(sock, id, path);
      const stdout = types.filter((t) => t.startsWith(`${RecordType.STDOUT}:`) || t.startsWith(`${RecordType.END_REQUEST}:`));
      expect(stdout.slice(-2)).toEqual([`${RecordType.STDOUT}:empty`, `${RecordType.END_REQUEST}:data`]);
      expect(stdout.filter((t) => t === `${RecordType.STDOUT}:empty`)).toHaveLength(1);
    }
  } finally {
    sock.destroy();
  }
});

describe("wsgi.input", () => {
  test("stops at CONTENT_LENGTH even when FCGI_STDIN holds more", async () => {
    const p = await adapter();
    const sock = await open(p.socket);
    try {
      const answer = await request(sock, 1, "/input?mode=read", { body: "0123456789", params: { CONTENT_LENGTH: "4" } });
      expect(JSON.parse(bodyOf(answer))).toMatchObject({ lengths: [4], body: "0123", after: 0 });
      // The rest of that STDIN is skipped: the connection serves the next request.
      expect(bodyOf(await request(sock, 2, "/hello"))).toBe("Hello, World!");
    } finally {
      sock.destroy();
    }
  });

  test("without CONTENT_LENGTH reads to the end of FCGI_STDIN (wsgi.input_terminated)", async () => {
    const p = await adapter();
    const sock = await open(p.socket);
    try {
      const answer = await request(sock, 1, "/input?mode=readline", { body: "a\nb\nc" });
      expect(JSON.parse(bodyOf(answer))).toMatchObject({ lengths: [2, 2, 1], body: "a\nb\nc" });
    } finally {
      sock.destroy();
    }
  });
});

test("SIGUSR1 writes every thread's stack to stderr while a request runs, and the request goes on", async () => {
  const p = await adapter();
  const sock = await open(p.socket);
  const marker = join(mkdtempSync(join(tmpdir(), "postern-adapter-")), "started");
  try {
    const answer = request(sock, 1, `/sleep?seconds=3&marker=${marker}`);
    await until("the request to start", () => existsSync(marker));
    p.child.kill("SIGUSR1");
    await until("the stack dump", () => /in sleeper/.test(p.stderr()));
    expect(p.stderr()).toMatch(/Thread 0x[0-9a-f]+/);
    expect(bodyOf(await answer)).toBe("slept 3.0");
  } finally {
    sock.destroy();
    rmSync(marker, { force: true });
  }
});

test("SIGTERM: no new connection, the request in flight finishes, exit 0", async () => {
  const p = await adapter();
  const sock = await open(p.socket);
  const dir = mkdtempSync(join(tmpdir(), "postern-adapter-"));
  const marker = join(dir, "started");
  try {
    const answer = request(sock, 1, `/sleep?seconds=3&marker=${marker}`);
    await until("the request to start", () => existsSync(marker));
    p.child.kill("SIGTERM");
    await until("the socket to go", () => !existsSync(p.socket));
    await expect(open(p.socket)).rejects.toThrow();
    expect(bodyOf(await answer)).toBe("slept 3.0");
    expect(await p.exited).toBe(0);
  } finally {
    sock.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("SIGTERM: exit 0 even when the application left a thread running that is not a daemon", async () => {
  const p = await adapter("lingering");
  p.child.kill("SIGTERM");
  expect(await p.exited).toBe(0);
});

test("SIGINT exits at once, a request in flight or not", async () => {
  const p = await adapter();
  const sock = await open(p.socket);
  const dir = mkdtempSync(join(tmpdir(), "postern-adapter-"));
  const marker = join(dir, "started");
  try {
    const answer = request(sock, 1, `/sleep?seconds=60&marker=${marker}`);
    await until("the request to start", () => existsSync(marker));
    const cut = expect(answer).rejects.toThrow(/closed before FCGI_END_REQUEST/);
    p.child.kill("SIGINT");
    expect(await p.exited).toBe(0);
    await cut;
  } finally {
    sock.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the adapter exits when the process that started it is killed", async () => {
  const dir = mkdtempSync(join(tmpdir(), "postern-adapter-"));
  try {
    const command = adapterCommand({ app: "probes:raw", socket: join(dir, "worker.sock") });
    // A parent that starts the adapter, prints its pid and waits: then SIGKILL.
    const parent = spawn("/bin/sh", ["-c", `"$@" & echo $!; wait`, "sh", ...command], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    parent.stdout!.setEncoding("utf8").on("data", (s: string) => (out += s));
    const pid = Number(await until("the adapter's pid", () => out.match(/^(\d+)\n/)?.[1]));
    await until("the socket", () => existsSync(join(dir, "worker.sock")));
    parent.kill("SIGKILL");
    await until("the adapter to exit", () => !running(pid));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
