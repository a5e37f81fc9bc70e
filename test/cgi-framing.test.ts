// The gateway frames what real CGI scripts send (src/cgi/framing.ts): a Perl
// script that counts characters for its UTF-8 Content-Length, invalid
// lengths, a length on a 204, hop-by-hop fields and the fields a script's
// Connection names (RFC 9110 §7.6.1), an NPH script's transfer coding, and a
// script that runs on after its declared bytes, as DokuWiki's indexer does.
// The CGI, NPH and php-fpm splitting cases on every runtime are in
// test/conformance/framing.ts.

import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { requireBinary } from "./helpers/binaries.ts";
import { makeCgiTree, type CgiTree } from "./helpers/cgi-fixtures.ts";
import { keepAliveExchange, type KeptAnswer } from "./helpers/keep-alive.ts";
import { startPostern, type RunningPostern } from "./helpers/postern.ts";

const PERL = requireBinary(["perl"], "perl");

const text = (answer: KeptAnswer | undefined) => answer?.body.toString("latin1");
const names = (answer: KeptAnswer | undefined) => answer?.headers.map(([n]) => n) ?? [];

describe.skipIf(!PERL)("CGI scripts whose framing is wrong", () => {
  let tree: CgiTree;
  let postern: RunningPostern;
  let port: number;
  let gate: string;
  const honest = { path: "/framing.sh?second" };

  beforeAll(async () => {
    const exe = 0o755;
    tree = makeCgiTree([
      { path: "www/framing.sh", fixture: "framing.sh", mode: exe },
      { path: "www/framing-utf8.pl", fixture: "framing-utf8.pl", mode: exe },
      { path: "www/nph-framing.sh", fixture: "nph-framing.sh", mode: exe },
      { path: "www/gated/framing.sh", fixture: "framing.sh", mode: exe },
    ]);
    gate = join(tree.dir, "gate");
    postern = await startPostern(`
[[routes]]
path = "/gated/*"
gateway = "cgi"
root = "${tree.root}"
max_procs = 1
max_queue = 0
env = { FRAMING_GATE = "${gate}" }

[[routes]]
path = "/*"
gateway = "cgi"
root = "${tree.root}"
interpreters = { ".pl" = "${PERL}" }
`);
    port = Number(new URL(postern.url).port);
  });

  afterAll(async () => {
    writeFileSync(gate, "");
    await postern?.stop();
    tree?.remove();
  });

  test("Perl counting characters, not bytes: the declared bytes only, and the next request gets its own answer", async () => {
    const { answers } = await keepAliveExchange(port, [{ path: "/framing-utf8.pl" }, honest]);
    expect(answers[0]!.body).toEqual(Buffer.from("héllo wörld\n").subarray(0, "héllo wörld\n".length));
    expect(text(answers[1])).toBe("answer to second");
    expect(postern.errors.filter((line) => line.includes("/framing-utf8.pl") && line.includes("more output than its Content-Length of 12"))).toHaveLength(1);
  });

  test("Content-Length: 5, 5 and Content-Length: 5 fold to one length", async () => {
    const { answers } = await keepAliveExchange(port, [{ path: "/framing.sh?repeated" }, honest]);
    expect(text(answers[0])).toBe("hello");
    expect(answers[0]!.headers.filter(([n]) => n === "content-length")).toEqual([["content-length", "5"]]);
    expect(text(answers[1])).toBe("answer to second");
  });

  test("Content-Length: -1 -> 502", async () => {
    expect((await fetch(`${postern.url}/framing.sh?negative`)).status).toBe(502);
  });

  test("a Content-Length on a 204 is not sent", async () => {
    const { answers } = await keepAliveExchange(port, [{ path: "/framing.sh?no-content" }, honest]);
    expect(answers[0]!.status).toBe(204);
    expect(names(answers[0])).not.toContain("content-length");
    expect(text(answers[1])).toBe("answer to second");
  });

  test("hop-by-hop fields and those the script's Connection names are not passed on; its Connection: close does not close ours", async () => {
    const { answers } = await keepAliveExchange(port, [{ path: "/framing.sh?hop-by-hop" }, honest]);
    const first = answers[0]!;
    expect(text(first)).toBe("hello");
    for (const name of ["x-internal", "te", "trailer", "upgrade", "proxy-connection"]) expect(names(first)).not.toContain(name);
    expect(first.headers).not.toContainEqual(["keep-alive", "timeout=99"]);
    expect(first.headers.find(([n]) => n === "connection")?.[1]).not.toMatch(/close|x-internal/i);
    expect(text(answers[1])).toBe("answer to second");
  });

  test("NPH with Transfer-Encoding: chunked -> 502 (its coding is not passed on as content)", async () => {
    expect((await fetch(`${postern.url}/nph-framing.sh?chunked`)).status).toBe(502);
  });

  test("a script that runs on after its declared bytes: the next request is answered meanwhile, the script keeps its slot, its late output is logged once", async () => {
    const { answers } = await keepAliveExchange(port, [{ path: "/gated/framing.sh?gate" }, honest]);
    expect(text(answers[0])).toBe("hello");
    expect(text(answers[1])).toBe("answer to second");
    expect(existsSync(gate)).toBe(false);
    // max_procs = 1, max_queue = 0: the running script still holds the route's one slot.
    expect((await fetch(`${postern.url}/gated/framing.sh?second`)).status).toBe(503);
    writeFileSync(gate, "");
    let status = 503;
    while (status === 503) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      status = (await fetch(`${postern.url}/gated/framing.sh?second`)).status;
    }
    expect(status).toBe(200);
    expect(postern.errors.filter((line) => line.includes("/gated/framing.sh") && line.includes("more output than its Content-Length"))).toHaveLength(1);
  }, 60_000);
});
