// The CGI gateway (RFC 3875) running real programs: sh, Perl and Python
// scripts, a Perl CGI.pm form handler, and a C program compiled here with the
// machine's `cc`. What they get (meta-variables, stdin, argv, cwd, open
// descriptors) and what the client gets back (document, local and client
// redirect responses, NPH, large bodies both ways), through the native
// spawner (spawn_helper = true, the default) and through the runtime's spawn
// (spawn_helper = false); then the security behaviours only a real script can
// show: nothing of the host environment, no query string in argv
// (CVE-2012-1823), no inherited descriptor, no source served, and no refused
// path that runs anything.

import { spawn, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { requireBinary } from "./helpers/binaries.ts";
import { CGI_FIXTURES, compileC, makeCgiTree, parseEnvReport, parseShellReport, requireCgiPm, type CgiTree, type EnvReport } from "./helpers/cgi-fixtures.ts";
import { startPostern, type RunningPostern } from "./helpers/postern.ts";
import { buildRequest, rawRequest } from "./helpers/raw-http.ts";

const PERL = requireBinary(["perl"], "perl");
const PYTHON = requireBinary(["python3"], "python3");
const CC = requireBinary(["cc"], "gcc");
const CGI_PM = requireCgiPm(PERL);
const READY = Boolean(PERL && PYTHON && CC);

const BIN = join(import.meta.dirname, "../bin/postern.js");
const MIB = 1024 * 1024;
const BIG = 20 * MIB;
const LONG_TIMEOUT = 120_000;
/** The descriptor postern is started with, besides stdio, in the open-descriptor test. */
const INHERITED_FD = 40;

/** Set in this process before postern starts: no script may ever see it. */
const SECRET = { name: "POSTERN_CGI_TEST_SECRET", value: "must-not-reach-scripts" };
/** Set here too, and listed in pass_env: scripts see it. */
const PASSED = { name: "POSTERN_CGI_TEST_PASSED", value: "passed through pass_env" };

const md5 = (bytes: Uint8Array) => createHash("md5").update(bytes).digest("hex");

/** Every script of the tests, and what must never be run or served. */
function buildTree(): CgiTree {
  const exe = 0o755;
  const tree = makeCgiTree([
    { path: "www/env.sh", fixture: "env.sh", mode: exe },
    { path: "www/env.pl", fixture: "env.pl", mode: exe },
    { path: "www/env.py", fixture: "env.py", mode: exe },
    { path: "www/echo.sh", fixture: "echo.sh", mode: exe },
    { path: "www/echo.pl", fixture: "echo.pl", mode: exe },
    { path: "www/echo.py", fixture: "echo.py", mode: exe },
    { path: "www/cookies.py", fixture: "cookies.py", mode: exe },
    { path: "www/notfound.pl", fixture: "notfound.pl", mode: exe },
    { path: "www/redirect.sh", fixture: "redirect.sh", mode: exe },
    { path: "www/local-redirect.sh", fixture: "local-redirect.sh", mode: exe },
    { path: "www/nph-status.sh", fixture: "nph-status.sh", mode: exe },
    { path: "www/big.sh", fixture: "big.sh", mode: exe },
    { path: "www/fds.pl", fixture: "fds.pl", mode: exe },
    { path: "www/form.pl", fixture: "form.pl", mode: exe },
    { path: "www/sub/env.sh", fixture: "env.sh", mode: exe },
    { path: "www/sub/env.pl", fixture: "env.pl", mode: exe },
    { path: "www/dir/index.pl", fixture: "env.pl", mode: exe },
    { path: "www/alias.sh", symlink: "env.sh" },
    // Never run, never served.
    { path: "www/source.txt", fixture: "source.txt", mode: 0o644 },
    { path: "www/noexec.sh", fixture: "ran.sh", mode: 0o644 },
    { path: "www/noexec.pl", fixture: "env.pl", mode: 0o644 },
    { path: "www/ran.sh", fixture: "ran.sh", mode: exe },
    { path: "www/.hidden.sh", fixture: "ran.sh", mode: exe },
    { path: "www/sub/ran.sh", fixture: "ran.sh", mode: exe },
    { path: "outside/ran.sh", fixture: "ran.sh", mode: exe },
    { path: "outside/index.pl", fixture: "ran.sh", mode: exe },
    { path: "www/link-out", symlink: "../outside" },
    { path: "www/link-ran.sh", symlink: "../outside/ran.sh" },
    // The positive control of the "never ran" check: it is run on purpose.
    { path: "www/control.sh", fixture: "ran.sh", mode: exe },
  ]);
  compileC(CC!, join(CGI_FIXTURES, "native/echo.c"), join(tree.root, "echo.cgi"));
  return tree;
}

function routeToml(root: string, extra: string): string {
  return `
[[routes]]
path = "/*"
gateway = "cgi"
root = "${root}"
interpreters = { ".pl" = "${PERL}", ".py" = "${PYTHON}" }
index = ["index.pl"]
pass_env = ["PATH", "${PASSED.name}"]
env = { CGI_TEST_EXTRA = "from the env key" }
timeout = "120s"
${extra}
`;
}

async function report(res: Response): Promise<EnvReport> {
  const text = Buffer.from(await res.arrayBuffer()).toString("latin1");
  expect(res.status, text.slice(0, 300)).toBe(200);
  return parseEnvReport(text, true);
}

async function shellReport(res: Response): Promise<ReturnType<typeof parseShellReport>> {
  const text = await res.text();
  expect(res.status, text.slice(0, 300)).toBe(200);
  return parseShellReport(text);
}

/** The expected output of big.sh: 64-byte lines, BIG bytes in all. */
function bigOutput(): Buffer {
  const line = Buffer.from("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\n");
  return Buffer.concat(Array.from({ length: BIG / line.length }, () => line));
}

/** The descriptors fds.pl lists, without the one of the listing itself (it points to /proc/<pid>/fd). */
function openDescriptors(text: string): number[] {
  return text
    .split("\n")
    .filter((line) => line.includes(" -> "))
    .map((line) => line.split(" -> ") as [string, string])
    .filter(([, target]) => !/^\/proc\/(\d+|self)\/fd$/.test(target))
    .map(([fd]) => Number(fd));
}

describe.skipIf(!READY)("CGI gateway with real programs", () => {
  let tree: CgiTree;

  beforeAll(() => {
    process.env[SECRET.name] = SECRET.value;
    process.env[PASSED.name] = PASSED.value;
    tree = buildTree();
  });

  afterAll(() => {
    delete process.env[SECRET.name];
    delete process.env[PASSED.name];
    tree?.remove();
  });

  describe.each([
    { helper: true, name: "spawn_helper = true (native spawner)" },
    { helper: false, name: "spawn_helper = false (the runtime's spawn)" },
  ])("$name", ({ helper }) => {
    let postern: RunningPostern;

    beforeAll(async () => {
      postern = await startPostern(routeToml(tree.root, `spawn_helper = ${helper}`));
    }, 60_000);

    afterAll(async () => {
      await postern?.stop();
    });

    test("starts scripts the way it was asked to", () => {
      // Without a usable `cc` the native spawner falls back to the runtime's spawn and says so.
      expect(postern.errors.filter((line) => /spawner|C compiler/.test(line))).toEqual([]);
    });

    test("sh: meta-variables, PATH_INFO and query string", async () => {
      const { values, argv } = await shellReport(await fetch(`${postern.url}/env.sh/a/b?x=1&y=two`));
      expect(argv).toEqual([]);
      expect(values).toMatchObject({
        argc: "0",
        GATEWAY_INTERFACE: "CGI/1.1",
        REQUEST_METHOD: "GET",
        SCRIPT_NAME: "/env.sh",
        SCRIPT_FILENAME: join(tree.root, "env.sh"),
        PATH_INFO: "/a/b",
        PATH_TRANSLATED: join(tree.root, "a/b"),
        QUERY_STRING: "x=1&y=two",
        SERVER_PROTOCOL: "HTTP/1.1",
        stdin_length: "0",
      });
    });

    test("perl: meta-variables and the request body's length and MD5", async () => {
      const body = "name=perl&x=%26";
      const res = await fetch(`${postern.url}/env.pl?q=1`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body,
      });
      const seen = await report(res);
      expect(seen.env).toMatchObject({
        REQUEST_METHOD: "POST",
        SCRIPT_NAME: "/env.pl",
        QUERY_STRING: "q=1",
        CONTENT_TYPE: "application/x-www-form-urlencoded",
        CONTENT_LENGTH: String(body.length),
      });
      expect(seen.body_length).toBe(body.length);
      expect(seen.body_md5).toBe(md5(Buffer.from(body)));
    });

    test("python: meta-variables, UTF-8 PATH_INFO and the request body", async () => {
      const body = Buffer.from("snake ✓");
      const res = await fetch(`${postern.url}/env.py/caf%C3%A9?lang=py`, { method: "PUT", body });
      const seen = (await res.json()) as EnvReport;
      expect(res.status).toBe(200);
      expect(seen.env).toMatchObject({
        REQUEST_METHOD: "PUT",
        SCRIPT_NAME: "/env.py",
        PATH_INFO: "/café",
        QUERY_STRING: "lang=py",
        CONTENT_LENGTH: String(body.length),
      });
      expect(seen.body_md5).toBe(md5(body));
    });

    test("a header value with UTF-8 bytes reaches the script byte for byte", async () => {
      // RFC 9110 §5.5: field values are octets; lighttpd, nginx and Apache pass them unchanged.
      const utf8 = Buffer.from("café ✓", "utf8").toString("latin1");
      const port = Number(new URL(postern.url).port);
      const res = await rawRequest(port, buildRequest("GET", "/env.pl", [["Host", "127.0.0.1"], ["X-Name", utf8], ["Connection", "close"]]));
      expect(res.status).toBe(200);
      expect(parseEnvReport(res.body.toString("latin1"), true).env.HTTP_X_NAME).toBe("café ✓");
    });

    test.each(["sh", "pl", "py"])("%s: stdin echoed back byte for byte", async (ext) => {
      const body = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), randomBytes(200_000)]);
      const res = await fetch(`${postern.url}/echo.${ext}`, { method: "POST", headers: { "content-type": "application/x-test" }, body });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("application/x-test");
      const echoed = Buffer.from(await res.arrayBuffer());
      expect(echoed.length).toBe(body.length);
      expect(md5(echoed)).toBe(md5(body));
    });

    test("three Set-Cookie fields stay three", async () => {
      const res = await fetch(`${postern.url}/cookies.py`);
      expect(res.status).toBe(200);
      expect(res.headers.getSetCookie()).toEqual([
        "a=1; Path=/",
        "b=2; Path=/; HttpOnly",
        "c=3; Expires=Wed, 21 Oct 2037 07:28:00 GMT",
      ]);
      expect(await res.text()).toBe("three cookies\n");
    });

    test("Status: 404 with a body", async () => {
      const res = await fetch(`${postern.url}/notfound.pl`);
      expect(res.status).toBe(404);
      expect(res.headers.get("content-type")).toBe("text/plain");
      expect(await res.text()).toBe("no such thing\n");
    });

    test("client redirect: an absolute Location is answered 302 (RFC 3875 §6.2.3)", async () => {
      const res = await fetch(`${postern.url}/redirect.sh`, { redirect: "manual" });
      expect(res.status).toBe(302);
      expect(res.headers.get("location")).toBe("http://example.com/elsewhere?x=1");
    });

    test("local redirect: the other script answers, as for a GET of the new location (RFC 3875 §6.2.2)", async () => {
      const res = await fetch(`${postern.url}/local-redirect.sh?original=1`, {
        method: "POST",
        headers: { "content-type": "text/plain" },
        body: "a body for the first script only",
        redirect: "manual",
      });
      const seen = await report(res);
      expect(seen.env).toMatchObject({ REQUEST_METHOD: "GET", SCRIPT_NAME: "/env.pl", QUERY_STRING: "from=local&x=a%20b" });
      expect(seen.env.CONTENT_LENGTH).toBeUndefined();
      expect(seen.env.CONTENT_TYPE).toBeUndefined();
      expect(seen.body_length).toBe(0);
    });

    test("NPH script: its status code, fields and body are passed on (RFC 3875 §5)", async () => {
      const res = await fetch(`${postern.url}/nph-status.sh`);
      expect(res.status).toBe(203);
      expect(res.headers.get("x-nph")).toBe("yes");
      expect(await res.text()).toBe("nph body\n");
    });

    test("NPH script: its reason phrase is passed on unmodified (RFC 3875 §5.2)", async () => {
      // §5.2: "The server MUST ensure that the script output is sent to the client unmodified."
      const res = await fetch(`${postern.url}/nph-status.sh`);
      await res.arrayBuffer();
      expect(res.statusText).toBe("Straight From The Script");
    });

    test(
      "20 MiB of output arrive whole",
      async () => {
        const res = await fetch(`${postern.url}/big.sh`);
        expect(res.status).toBe(200);
        const got = Buffer.from(await res.arrayBuffer());
        const want = bigOutput();
        expect(got.length).toBe(want.length);
        expect(md5(got)).toBe(md5(want));
      },
      LONG_TIMEOUT,
    );

    test(
      "a 20 MiB upload is streamed to the script, which sees every byte",
      async () => {
        const body = randomBytes(BIG);
        const res = await fetch(`${postern.url}/env.pl`, { method: "POST", headers: { "content-type": "application/octet-stream" }, body });
        const seen = await report(res);
        expect(seen.env.CONTENT_LENGTH).toBe(String(BIG));
        expect(seen.body_length).toBe(BIG);
        expect(seen.body_md5).toBe(md5(body));
      },
      LONG_TIMEOUT,
    );

    test("a C program compiled with cc reads QUERY_STRING and exactly CONTENT_LENGTH bytes of stdin", async () => {
      const res = await fetch(`${postern.url}/echo.cgi?a=1&b=two`, { method: "POST", body: "hello from the client" });
      expect(res.status).toBe(200);
      expect(res.headers.get("x-program")).toBe("c");
      expect(await res.text()).toBe("query=a=1&b=two\ncontent_length=21\nbody=hello from the client\n");
    });

    describe("argv is the script path alone: a query string never becomes arguments (CVE-2012-1823)", () => {
      test.each(["-s", "foo+bar", "-d+allow_url_include%3d1+-n", "-h"])("?%s", async (query) => {
        const sh = await shellReport(await fetch(`${postern.url}/env.sh?${query}`));
        expect(sh.values.argc).toBe("0");
        expect(sh.argv).toEqual([]);
        expect(sh.values.QUERY_STRING).toBe(query);
        expect((await report(await fetch(`${postern.url}/env.pl?${query}`))).argv).toEqual([]);
        const py = (await (await fetch(`${postern.url}/env.py?${query}`)).json()) as EnvReport;
        expect(py.argv).toEqual([]);
      });
    });

    test("the current directory is the script's own (RFC 3875 §7.2)", async () => {
      expect((await shellReport(await fetch(`${postern.url}/sub/env.sh`))).values.cwd).toBe(join(tree.root, "sub"));
      expect((await report(await fetch(`${postern.url}/sub/env.pl`))).cwd).toBe(join(tree.root, "sub"));
      expect((await report(await fetch(`${postern.url}/env.pl`))).cwd).toBe(tree.root);
    });

    test("nothing of the host environment but pass_env, plus the env key", async () => {
      const seen = await report(await fetch(`${postern.url}/env.pl`));
      expect(seen.env[SECRET.name]).toBeUndefined();
      expect(Object.values(seen.env)).not.toContain(SECRET.value);
      expect(seen.env.PATH).toBe(process.env.PATH);
      expect(seen.env[PASSED.name]).toBe(PASSED.value);
      expect(seen.env.CGI_TEST_EXTRA).toBe("from the env key");
      // Everything else is a meta-variable: RFC 3875 §4.1's, the usual extras, or a header's.
      const META = new Set([
        "AUTH_TYPE", "CONTENT_LENGTH", "CONTENT_TYPE", "GATEWAY_INTERFACE", "PATH_INFO", "PATH_TRANSLATED",
        "QUERY_STRING", "REMOTE_ADDR", "REMOTE_HOST", "REMOTE_IDENT", "REMOTE_USER", "REQUEST_METHOD",
        "SCRIPT_NAME", "SERVER_NAME", "SERVER_PORT", "SERVER_PROTOCOL", "SERVER_SOFTWARE",
        "REQUEST_URI", "DOCUMENT_URI", "DOCUMENT_ROOT", "SCRIPT_FILENAME", "REMOTE_PORT", "SERVER_ADDR",
        "REQUEST_SCHEME", "HTTPS", "REDIRECT_STATUS",
        "PATH", PASSED.name, "CGI_TEST_EXTRA",
      ]);
      expect(Object.keys(seen.env).filter((key) => !META.has(key) && !key.startsWith("HTTP_"))).toEqual([]);
    });

    test("a file without execute bit and without interpreter is 403, never its text", async () => {
      for (const path of ["/source.txt", "/noexec.sh"]) {
        const res = await fetch(`${postern.url}${path}`);
        const text = await res.text();
        expect(res.status, path).toBe(403);
        expect(text).not.toContain("SOURCE-MARKER");
        expect(text).not.toContain("touch");
      }
    });

    test("a script without execute bit runs through its interpreter (executable_only = false)", async () => {
      expect((await report(await fetch(`${postern.url}/noexec.pl`))).env.SCRIPT_NAME).toBe("/noexec.pl");
    });
  });

  // Only the native spawner is held to this: Node's own spawn (spawn_helper =
  // false) cannot close descriptors its process inherited without
  // close-on-exec, and docs/gateways/cgi.md says so.
  describe.each([{ helper: true, name: "spawn_helper = true (native spawner)" }])("open descriptors, $name", ({ helper }) => {
    // postern runs as its own process here, given an extra descriptor
    // (INHERITED_FD, a socket without close-on-exec) as a supervisor or a
    // socket-activating init may leave it one: what a script could inherit is
    // then known, whatever the test runner itself has open. (Node marks its
    // lowest inherited descriptors close-on-exec itself, so the number is high.)
    let child: ChildProcess | undefined;
    let url = "";

    beforeAll(async () => {
      const config = join(tree.dir, `fds-${helper}.toml`);
      writeFileSync(config, `listen = ["127.0.0.1:0"]\naccess_log = false\n${routeToml(tree.root, `spawn_helper = ${helper}`)}`);
      const stdio: ("ignore" | "pipe")[] = ["ignore", "pipe", "pipe"];
      while (stdio.length < INHERITED_FD) stdio.push("ignore");
      stdio.push("pipe");
      const proc = spawn(process.execPath, [BIN, "serve", "--config", config], { stdio });
      child = proc;
      let out = "";
      let err = "";
      proc.stdout!.on("data", (d) => (out += d));
      proc.stderr!.on("data", (d) => (err += d));
      const deadline = Date.now() + 45_000;
      while (!/listening on http:\/\/\S+/.test(out)) {
        if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`postern did not start: ${err}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      url = /listening on (http:\/\/\S+?)\/?\n/.exec(out)![1]!;
    }, 60_000);

    afterAll(async () => {
      const proc = child;
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((resolve) => proc.once("exit", resolve));
      // SIGTERM: a graceful stop (DESIGN.md); SIGKILL only if it has not ended long after.
      proc.kill("SIGTERM");
      const late = setTimeout(() => proc.kill("SIGKILL"), 20_000);
      await exited;
      clearTimeout(late);
    }, 30_000);

    test("a script has descriptors 0, 1 and 2 only", async () => {
      const res = await fetch(`${url}/fds.pl`);
      const text = await res.text();
      expect(res.status).toBe(200);
      expect(openDescriptors(text), text).toEqual([0, 1, 2]);
    });
  });

  describe("the default configuration (native spawner) and executable_only", () => {
    let postern: RunningPostern;
    let strict: RunningPostern;

    beforeAll(async () => {
      postern = await startPostern(routeToml(tree.root, ""));
      strict = await startPostern(routeToml(tree.root, "executable_only = true"));
    }, 60_000);

    afterAll(async () => {
      await postern?.stop();
      await strict?.stop();
    });

    test("a directory runs its index script", async () => {
      const seen = await report(await fetch(`${postern.url}/dir/?x=1`));
      expect(seen.env).toMatchObject({ SCRIPT_NAME: "/dir/index.pl", QUERY_STRING: "x=1", REQUEST_URI: "/dir/?x=1" });
      expect(seen.cwd).toBe(join(tree.root, "dir"));
    });

    test("a symlink to a script inside the root runs it under its own name", async () => {
      const { values } = await shellReport(await fetch(`${postern.url}/alias.sh`));
      expect(values.SCRIPT_NAME).toBe("/alias.sh");
      expect(values.cwd).toBe(tree.root);
    });

    describe.skipIf(!CGI_PM)("a CGI.pm form handler (libcgi-pm-perl)", () => {
      test("urlencoded POST", async () => {
        const res = await fetch(`${postern.url}/form.pl`, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: "name=Ada+Lovelace&color=red&color=blue%2Fgreen",
        });
        expect(res.status).toBe(200);
        expect(res.headers.get("content-type")).toBe("text/plain; charset=utf-8");
        expect(res.headers.get("x-form")).toBe("cgi.pm");
        expect(await res.text()).toBe("method=POST\nname=Ada Lovelace\ncolors=red,blue/green\n");
      });

      test("GET with a query string", async () => {
        const res = await fetch(`${postern.url}/form.pl?name=Grace&color=green`);
        expect(await res.text()).toBe("method=GET\nname=Grace\ncolors=green\n");
      });

      test("multipart upload", async () => {
        const file = randomBytes(3 * MIB);
        const form = new FormData();
        form.append("name", "Uploader");
        form.append("color", "red");
        form.append("file", new Blob([file], { type: "application/octet-stream" }), "data.bin");
        const res = await fetch(`${postern.url}/form.pl`, { method: "POST", body: form });
        expect(res.status).toBe(200);
        expect(await res.text()).toBe(
          `method=POST\nname=Uploader\ncolors=red\nfile=data.bin\nfile_size=${file.length}\nfile_md5=${md5(file)}\n`,
        );
      });
    });

    test("executable_only = true refuses a .pl without execute bit, runs one with it", async () => {
      const refused = await fetch(`${strict.url}/noexec.pl`);
      const text = await refused.text();
      expect(refused.status).toBe(403);
      expect(text).not.toContain("JSON::PP");
      expect((await report(await fetch(`${strict.url}/env.pl`))).env.SCRIPT_NAME).toBe("/env.pl");
    });

    // Each target is sent as written (no URL normalization by a client).
    // 403 or 404 for a path that leaves the root or names what may not run
    // (DESIGN.md); 400 where the request itself is malformed: a raw backslash
    // is no URI character (RFC 3986 §2), NUL/CR/LF in a decoded path are
    // refused outright (src/paths.ts, CVE-2019-11043).
    const ATTACKS: [target: string, statuses: number[]][] = [
      ["/../outside/ran.sh", [403, 404]],
      ["/sub/../../outside/ran.sh", [403, 404]],
      ["/%2e%2e/outside/ran.sh", [403, 404]],
      ["/sub/%2e%2e/%2e%2e/outside/ran.sh", [403, 404]],
      ["/sub/%2E%2E/%2E%2E/outside/index.pl", [403, 404]],
      ["/..%2foutside%2fran.sh", [403, 404]],
      ["/sub%2f..%2f..%2foutside%2fran.sh", [403, 404]],
      ["/sub/..%2fran.sh", [403, 404]],
      ["/ran.sh%00", [400, 403, 404]],
      ["/ran.sh%00.txt", [400, 403, 404]],
      ["/sub/ran.sh%0a", [400, 403, 404]],
      ["/sub\\..\\ran.sh", [400, 403, 404]],
      ["/sub%5c..%5cran.sh", [403, 404]],
      ["/sub%5cran.sh", [403, 404]],
      ["/ran.sh.", [403, 404]],
      ["/ran.sh%2e", [403, 404]],
      ["/ran.sh%20", [403, 404]],
      ["/ran.sh%20%20", [403, 404]],
      ["/sub./ran.sh", [403, 404]],
      ["/.hidden.sh", [403, 404]],
      ["/%2ehidden.sh", [403, 404]],
      ["/link-out/ran.sh", [403, 404]],
      ["/link-out/ran.sh/path/info", [403, 404]],
      ["/link-out/", [403, 404]],
      ["/link-out", [403, 404]],
      ["/link-out/missing.sh", [403, 404]],
      ["/link-ran.sh", [403, 404]],
      ["//outside/ran.sh", [403, 404]],
    ];

    test.each(ATTACKS)("%s is refused and runs nothing", async (target, statuses) => {
      const port = Number(new URL(postern.url).port);
      const res = await rawRequest(port, buildRequest("GET", target, [["Host", "127.0.0.1"], ["Connection", "close"]]));
      const text = res.body.toString("latin1");
      expect(statuses, `status ${res.status}: ${text.slice(0, 200)}`).toContain(res.status);
      expect(text).not.toContain("RAN");
      expect(text).not.toContain("touch");
    });

    test("none of the refused paths started a script (control.sh did, on purpose)", async () => {
      const res = await fetch(`${postern.url}/control.sh`);
      expect(await res.text()).toBe("RAN\n");
      expect(tree.ranMarkers()).toEqual([join(tree.root, "control.sh.ran")]);
    });
  });
});
