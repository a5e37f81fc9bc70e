// The conformance cases about who frames a backend's answer (src/cgi/framing.ts):
// a backend whose Content-Length does not match its body — a CGI script, an
// NPH script, php-fpm — must never make a client on a kept-alive connection
// read the rest as the answer to its next request (response splitting,
// CWE-113). Each case sends requests one after the other on one connection,
// as a browser does, and checks that the second gets its own answer.

import { describe, expect, test } from "vitest";
import { keepAliveExchange, type KeptAnswer } from "../helpers/keep-alive.ts";
import type { Target } from "./suite.ts";

const text = (answer: KeptAnswer | undefined) => answer?.body.toString("latin1");
const field = (answer: KeptAnswer | undefined, name: string) => answer?.headers.filter(([n]) => n === name).map(([, v]) => v);

export function framingCases(target: Target, base: () => string): void {
  const port = () => Number(new URL(base()).port);
  const noSpawn = target.capabilities.spawn ? "" : ` (skipped: ${target.name} cannot start processes)`;
  // A cut body is signalled by erroring the Response's stream; only the server writing the connection can then close it.
  const platformServer = target.capabilities.ownServer
    ? ""
    : ` (skipped: ${target.name}'s own server writes the connection, and ends a body whose stream failed as if it were complete)`;

  describe("the gateway frames what a backend sends", () => {
    const honest = { path: "/cgi/framing.sh?second" };

    for (const query of ["split", "split-at-once"]) {
      test.skipIf(noSpawn !== "")(`CGI Content-Length: 5 then a whole forged response (${query}): 5 bytes, and the next request gets its own answer${noSpawn}`, async () => {
        const { answers } = await keepAliveExchange(port(), [{ path: `/cgi/framing.sh?${query}` }, honest]);
        expect(answers.map((a) => a.status)).toEqual([200, 200]);
        expect(text(answers[0])).toBe("hello");
        expect(text(answers[1])).toBe("answer to second");
        expect(field(answers[1], "set-cookie")).toEqual([]);
      });
    }

    test.skipIf(noSpawn !== "")(`NPH Content-Length: 5 then a whole forged response: 5 bytes, and the next request gets its own answer${noSpawn}`, async () => {
      const { answers } = await keepAliveExchange(port(), [{ path: "/cgi/nph-framing.sh?split" }, honest]);
      expect(text(answers[0])).toBe("hello");
      expect(text(answers[1])).toBe("answer to second");
      expect(field(answers[1], "set-cookie")).toEqual([]);
    });

    for (const pipelined of [false, true]) {
      const how = pipelined ? ", the next request pipelined" : "";
      test.skipIf(noSpawn !== "")(`CGI body shorter than its Content-Length${how}: the connection is closed, never a complete answer${noSpawn}`, async () => {
        const exchange = await keepAliveExchange(port(), [{ path: "/cgi/framing.sh?short" }, honest], { pipelined });
        expect(exchange.closed).toBe(true);
        expect(exchange.answers).toEqual([]);
      });

      test.skipIf(platformServer !== "")(`php-fpm body shorter than its Content-Length${how}: the connection is closed, never a complete answer${platformServer}`, async () => {
        const exchange = await keepAliveExchange(port(), [{ path: "/php/framing.php?short&wait" }, { path: "/php/hello.php" }], { pipelined });
        expect(exchange.closed).toBe(true);
        expect(exchange.answers).toEqual([]);
      });
    }

    test.skipIf(noSpawn !== "")(`CGI Content-Length: 5, 50 -> 502, and the connection carries the next request${noSpawn}`, async () => {
      const { answers } = await keepAliveExchange(port(), [{ path: "/cgi/framing.sh?list" }, honest]);
      expect(answers.map((a) => a.status)).toEqual([502, 200]);
      expect(text(answers[1])).toBe("answer to second");
    });

    test.skipIf(noSpawn !== "")(`HEAD: the script's Content-Length is kept, no body is sent${noSpawn}`, async () => {
      const { answers } = await keepAliveExchange(port(), [{ path: "/cgi/framing.sh?split-at-once", method: "HEAD" }, honest]);
      expect(answers[0]!.status).toBe(200);
      expect(field(answers[0], "content-length")).toEqual(["5"]);
      expect(text(answers[1])).toBe("answer to second");
    });

    for (const query of ["split&wait", "split"]) {
      test(`php-fpm header("Content-Length: 5") then a forged response (${query}): 5 bytes, no injected Set-Cookie on the next answer`, async () => {
        const { answers } = await keepAliveExchange(port(), [{ path: `/php/framing.php?${query}` }, { path: "/php/hello.php" }]);
        expect(answers.map((a) => a.status)).toEqual([200, 200]);
        expect(text(answers[0])).toBe("hello");
        expect(text(answers[1])).toBe("Hello, world!\n");
        expect(field(answers[1], "set-cookie")).toEqual([]);
      });
    }
  });
}
