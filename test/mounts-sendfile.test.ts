// X-Sendfile, X-LIGHTTPD-send-file and X-Accel-Redirect from real backends
// (php-fpm, a Perl CGI script, a Python WSGI app): never passed on to the
// client, whatever the gateway, and on cgi and fastcgi routes with
// `x_sendfile = { allow = [...] }` the file named is sent in place of the
// body, as the static route sends files (Range, HEAD, conditional requests),
// when its real path lies in an allowed directory; anything else is a 502,
// logged.

import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { requireBinary } from "./helpers/binaries.ts";
import { startPhpFpm, type PhpFpm } from "./helpers/php-fpm.ts";
import { startPostern, type RunningPostern } from "./helpers/postern.ts";
import { giveToScriptUser } from "./helpers/script-user.ts";

const PHP_FPM = requireBinary(["php-fpm8.2", "php-fpm"], "php-fpm");
const PERL = requireBinary(["perl"], "perl");
const PYTHON = requireBinary(["python3"], "python3");
const REPORT = randomBytes(100_000);

let dir: string;
let fpm: PhpFpm | undefined;
let postern: RunningPostern;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "postern-sendfile-"));
  chmodSync(dir, 0o755);
  mkdirSync(join(dir, "files"));
  mkdirSync(join(dir, "www"));
  writeFileSync(join(dir, "files/report.bin"), REPORT);
  writeFileSync(join(dir, "secret.txt"), "not for download\n");
  symlinkSync("../secret.txt", join(dir, "files/link.txt"));
  // The field and its value from the query: ?h=X-Sendfile&f=/path.
  writeFileSync(join(dir, "www/send.php"), '<?php header("Content-Type: application/pdf"); setcookie("seen", "1"); header($_GET["h"] . ": " . $_GET["f"]); echo "backend body";');
  writeFileSync(join(dir, "www/send.pl"), `print "Content-Type: text/plain\\r\\nX-LIGHTTPD-send-file: ${dir}/files/report.bin\\r\\n\\r\\nbackend body";\n`);
  writeFileSync(
    join(dir, "app.py"),
    `def application(environ, start_response):\n    start_response("200 OK", [("Content-Type", "text/plain"), ("X-Sendfile", "${dir}/secret.txt"), ("X-Accel-Redirect", "/internal/x")])\n    return [b"wsgi body"]\n`,
  );
  giveToScriptUser(join(dir, "www"));
  giveToScriptUser(join(dir, "app.py"));
  if (PHP_FPM) fpm = await startPhpFpm(PHP_FPM);
  const php = (path: string, extra: string) =>
    fpm ? `[[routes]]\npath = "${path}/*"\ngateway = "fastcgi"\nbackend = "unix:${fpm.socket}"\nroot = "${dir}/www"\nstrip_prefix = true\n${extra}\n` : "";
  postern = await startPostern(`
${php("/sf", `x_sendfile = { allow = ["${dir}/files"] }`)}
${php("/plain", "")}
[[routes]]
path = "/cgi/*"
gateway = "cgi"
root = "${dir}/www"
strip_prefix = true
interpreters = { ".pl" = "perl" }
x_sendfile = { allow = ["${dir}/files"] }
${PYTHON ? `\n[[routes]]\npath = "/py/*"\ngateway = "wsgi"\napp = "app:application"\npython = "${PYTHON}"\nchdir = "${dir}"\nenv = { PYTHONDONTWRITEBYTECODE = "1" }\n` : ""}`);
});
afterAll(async () => {
  await postern?.stop();
  await fpm?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const send = (route: string, field: string, path: string, init?: RequestInit) =>
  fetch(`${postern.url}${route}/send.php?h=${field}&f=${encodeURIComponent(path)}`, init);

function noSendfileFields(res: Response): void {
  for (const name of ["x-sendfile", "x-lighttpd-send-file", "x-accel-redirect"]) expect(res.headers.get(name), name).toBeNull();
}

describe.skipIf(!PHP_FPM)("php-fpm", () => {
  test("the named file is sent in place of the body, with the backend's type and cookie", async () => {
    const res = await send("/sf", "X-Sendfile", `${dir}/files/report.bin`);
    expect(res.status).toBe(200);
    noSendfileFields(res);
    expect(res.headers.get("content-type")).toBe("application/pdf");
    expect(res.headers.get("set-cookie")).toContain("seen=1");
    expect(res.headers.get("content-length")).toBe(String(REPORT.length));
    expect(Buffer.from(await res.arrayBuffer()).equals(REPORT)).toBe(true);
  });

  test("Range, HEAD and If-None-Match as the static route answers them", async () => {
    const path = `${dir}/files/report.bin`;
    const part = await send("/sf", "X-Sendfile", path, { headers: { range: "bytes=10-19" } });
    expect([part.status, part.headers.get("content-range")]).toEqual([206, `bytes 10-19/${REPORT.length}`]);
    expect(Buffer.from(await part.arrayBuffer()).equals(REPORT.subarray(10, 20))).toBe(true);
    const head = await send("/sf", "X-Sendfile", path, { method: "HEAD" });
    expect([head.status, head.headers.get("content-length"), await head.text()]).toEqual([200, String(REPORT.length), ""]);
    const etag = head.headers.get("etag")!;
    expect((await send("/sf", "X-Sendfile", path, { headers: { "if-none-match": etag } })).status).toBe(304);
  });

  test("a file outside allow, a link out of it, a relative path, X-Accel-Redirect: 502, logged, nothing of it sent", async () => {
    for (const [field, path] of [
      ["X-Sendfile", `${dir}/secret.txt`],
      ["X-Sendfile", `${dir}/files/link.txt`],
      ["X-Sendfile", "files/report.bin"],
      ["X-Accel-Redirect", "/protected/report.bin"],
    ]) {
      const res = await send("/sf", field!, path!);
      noSendfileFields(res);
      expect([field, path, res.status]).toEqual([field, path, 502]);
      expect(await res.text()).not.toContain("not for download");
    }
    const log = postern.errors.join("\n");
    expect(log).toContain(`X-Sendfile: ${dir}/secret.txt: ${dir}/secret.txt is not in x_sendfile.allow`);
    expect(log).toContain(`X-Sendfile: ${dir}/files/link.txt: ${dir}/secret.txt is not in x_sendfile.allow`);
    expect(log).toContain("X-Accel-Redirect: /protected/report.bin: names a URI");
  });

  test("without x_sendfile the fields are still never passed on: the backend's body is", async () => {
    for (const field of ["X-Sendfile", "X-LIGHTTPD-send-file", "X-Accel-Redirect"]) {
      const res = await send("/plain", field, `${dir}/secret.txt`);
      noSendfileFields(res);
      expect([field, res.status, await res.text()]).toEqual([field, 200, "backend body"]);
    }
  });
});

describe.skipIf(!PERL)("a Perl CGI script", () => {
  test("X-LIGHTTPD-send-file sends the file", async () => {
    const res = await fetch(`${postern.url}/cgi/send.pl`);
    noSendfileFields(res);
    expect([res.status, res.headers.get("content-type")]).toEqual([200, "text/plain"]);
    expect(Buffer.from(await res.arrayBuffer()).equals(REPORT)).toBe(true);
  });
});

describe.skipIf(!PYTHON)("a Python WSGI app", () => {
  test("its X-Sendfile and X-Accel-Redirect are not passed on: the app's body is", async () => {
    const res = await fetch(`${postern.url}/py/`);
    noSendfileFields(res);
    expect([res.status, await res.text()]).toEqual([200, "wsgi body"]);
  });
});
