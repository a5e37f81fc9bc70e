// Error log lines and what clients put in them: a script's stderr often
// repeats the request (a PHP warning quoting a parameter, a Perl die with
// the query), and a line break there would let a client write a line of its
// own into the log, dated and levelled as postern's (log injection, CWE-117).
// Line-breaking characters are escaped in every error line, as the access
// log escapes them.

import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { requireBinary } from "./helpers/binaries.ts";
import { startPostern, type Served } from "./helpers/postern-cli.ts";
import { giveToScriptUser } from "./helpers/script-user.ts";
import { stopProcessGroup } from "./helpers/server-process.ts";

const PERL = requireBinary(["perl"], "perl");
const servers: Served[] = [];
const dirs: string[] = [];
afterAll(async () => {
  for (const served of servers) await stopProcessGroup(served.proc, "SIGTERM");
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

test.skipIf(!PERL).each(["node", "deno", "bun"] as const)("on %s, a script's stderr carrying the client's line breaks stays on its own error log line", async (runtime) => {
  const dir = mkdtempSync(join(tmpdir(), "postern-error-log-"));
  dirs.push(dir);
  chmodSync(dir, 0o755);
  mkdirSync(join(dir, "cgi-bin"));
  const script = join(dir, "cgi-bin/echo.pl");
  writeFileSync(script, `#!${PERL}\nmy $q = $ENV{QUERY_STRING};\n$q =~ s/%([0-9A-Fa-f]{2})/chr(hex($1))/ge;\nprint STDERR "asked: $q\\n";\nprint "Content-Type: text/plain\\r\\n\\r\\nok";\n`);
  chmodSync(script, 0o755);
  giveToScriptUser(join(dir, "cgi-bin"));
  const log = join(dir, "error.log");
  const config = join(dir, "postern.toml");
  writeFileSync(config, `listen = "127.0.0.1:0"\nerror_log = ${JSON.stringify(log)}\n[[routes]]\npath = "/cgi-bin/*"\ngateway = "cgi"\nroot = ${JSON.stringify(dir)}\n`);
  const served = await startPostern(["serve", "--config", config], { runtime });
  servers.push(served);
  const forged = "%0A2026/01/01%2000:00:00%20[error]%20forged%0D%C2%85x%E2%80%A8y";
  const answer = await fetch(`${served.url}/cgi-bin/echo.pl?${forged}`);
  expect(await answer.text()).toBe("ok");
  const deadline = Date.now() + 20_000;
  let text = "";
  while (!(text = readFileSync(log, { encoding: "utf8", flag: "a+" })).includes("forged") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const lines = text.split("\n").filter(Boolean);
  const withForged = lines.filter((line) => line.includes("forged"));
  expect(withForged).toHaveLength(1);
  expect(withForged[0]).toMatch(/^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d \[error\] .*stderr: asked: \\x0a2026\/01\/01 00:00:00 \[error\] forged\\x0d\\x85x\\u2028y/);
  for (const line of lines) expect(line).not.toMatch(/[\r\u0085\u2028\u2029]/);
}, 120_000);
