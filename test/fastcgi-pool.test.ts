// Keep-alive against a real php-fpm without starving anyone: a kept
// connection pins a php-fpm child, so postern must never hold idle
// connections that another client of the same pool waits behind.

import { connect } from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { encodeParams } from "../gateways/fastcgi/params.ts";
import { RecordReader } from "../gateways/fastcgi/reader.ts";
import { encodeBeginRequest, encodeStream, encodeStreamEnd, RecordType, Role } from "../gateways/fastcgi/record.ts";
import { requireBinary } from "./helpers/binaries.ts";
import { startPhpFpm, type PhpFpm } from "./helpers/php-fpm.ts";
import { startPostern, type RunningPostern } from "./helpers/postern.ts";

const PHP_FPM = requireBinary(["php-fpm8.2", "php-fpm"], "php-fpm");
const ROOT = join(import.meta.dirname, "fixtures/php");

/** Another FastCGI client of the same php-fpm pool: one request on its own connection; resolves with the ms it waited. */
function otherClient(socket: string, script: string): Promise<number> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const conn = connect(socket, () => {
      const params = encodeParams([
        ["SCRIPT_FILENAME", join(ROOT, script)],
        ["SCRIPT_NAME", `/${script}`],
        ["REQUEST_METHOD", "GET"],
      ]);
      conn.write(encodeBeginRequest(1, Role.RESPONDER, 0));
      conn.write(encodeStream(RecordType.PARAMS, 1, params));
      conn.write(encodeStreamEnd(RecordType.PARAMS, 1));
      conn.write(encodeStreamEnd(RecordType.STDIN, 1));
    });
    const records = new RecordReader();
    conn.on("data", (chunk) =>
      records.push(chunk, (record) => {
        if (record.type === RecordType.END_REQUEST) {
          conn.destroy();
          resolve(Date.now() - started);
        }
      }),
    );
    conn.on("error", reject);
  });
}

describe.skipIf(!PHP_FPM)("fastcgi keep-alive with php-fpm", () => {
  let fpm: PhpFpm | undefined;
  let postern: RunningPostern | undefined;
  afterEach(async () => {
    await postern?.stop();
    await fpm?.stop();
    postern = fpm = undefined;
  });

  test("an idle kept connection is closed after keepalive_timeout, freeing its child", async () => {
    fpm = await startPhpFpm(PHP_FPM!, { children: 1 });
    postern = await startPostern(`
[[routes]]
gateway = "fastcgi"
backend = "unix:${fpm.socket}"
root = "${ROOT}"
keepalive_timeout = "300ms"
`);
    expect((await fetch(`${postern.url}/hello.php`)).status).toBe(200);
    // The only child now sits on postern's kept connection; the other client
    // is served once postern lets that connection go.
    const waited = await otherClient(fpm.socket, "hello.php");
    expect(waited).toBeGreaterThanOrEqual(200);
    expect(waited).toBeLessThan(5_000);
  });

  test("32 concurrent clients against 2 children, capacity unknown: nobody starves", async () => {
    fpm = await startPhpFpm(PHP_FPM!, { children: 2 });
    postern = await startPostern(`
[[routes]]
gateway = "fastcgi"
backend = "unix:${fpm.socket}"
root = "${ROOT}"
first_byte_timeout = "4s"
keepalive_timeout = "2s"
`);
    const statuses: number[] = [];
    const until = Date.now() + 1_500;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (Date.now() < until) statuses.push((await fetch(`${postern!.url}/sleep.php?ms=2`)).status);
      }),
    );
    expect(statuses.length).toBeGreaterThan(32);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    // And a client outside postern gets a child once postern's kept connections
    // idle out (keepalive_timeout): the pool may have learned both children.
    expect(await otherClient(fpm.socket, "hello.php")).toBeLessThan(4_000);
  });

  test("max_conns = children: kept connections, all answered", async () => {
    fpm = await startPhpFpm(PHP_FPM!, { children: 2 });
    postern = await startPostern(`
[[routes]]
gateway = "fastcgi"
backend = "unix:${fpm.socket}"
root = "${ROOT}"
max_conns = 2
first_byte_timeout = "4s"
`);
    const results = await Promise.all(
      Array.from({ length: 64 }, () => fetch(`${postern!.url}/sleep.php?ms=2`).then((r) => r.status)),
    );
    expect(results.filter((s) => s !== 200)).toEqual([]);
  });
});
