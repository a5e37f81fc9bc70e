// A CGI head and its output turned into the client's Response
// (src/cgi/answer.ts, src/cgi/framing.ts): golden cases of Content-Length
// checking (RFC 9110 §8.6) and hop-by-hop fields (§7.6.1), and a property
// test that re-chunks a body at random: the client gets exactly the declared
// prefix, whatever the backend wrote after it.

import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { cgiResponse, type CgiOutput } from "../src/cgi/answer.ts";
import { declaredLength } from "../src/cgi/framing.ts";
import type { CgiHead } from "../src/cgi/response.ts";
import { GatewayError } from "../src/errors.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

function headWith(fields: [string, string][], status = 200): CgiHead {
  return { status, statusText: "", headers: [["Content-Type", "text/plain"], ...fields], kind: "document" };
}

/** A backend's output after the head, chunk by chunk, recording what the gateway did with it. */
class FakeOutput implements CgiOutput {
  readonly #chunks: Uint8Array[];
  #fail: GatewayError | undefined;
  reads = 0;
  ended = false;
  cancelled: GatewayError | undefined;

  constructor(chunks: Uint8Array[], fail?: GatewayError) {
    this.#chunks = [...chunks];
    this.#fail = fail;
  }

  async read(): Promise<Uint8Array | null> {
    this.reads++;
    const chunk = this.#chunks.shift();
    if (chunk) return chunk;
    if (this.#fail) throw this.#fail;
    this.ended = true;
    return null;
  }

  cancel(reason: GatewayError): void {
    this.cancelled = reason;
  }
}

interface Answer {
  response: Response;
  cuts: GatewayError[];
}

function answer(head: CgiHead, output: FakeOutput, options: { head?: boolean; parts?: Uint8Array[]; ended?: boolean } = {}): Answer {
  const cuts: GatewayError[] = [];
  const response = cgiResponse(head, { parts: options.parts ?? [], ended: options.ended ?? false }, output, {
    head: options.head ?? false,
    onCut: (reason) => cuts.push(reason),
  });
  return { response, cuts };
}

/** Reads a body to its end, or to its error. */
async function readBody(response: Response): Promise<{ body: Uint8Array; error?: unknown }> {
  const parts: number[] = [];
  const reader = response.body!.getReader();
  try {
    for (let r = await reader.read(); !r.done; r = await reader.read()) parts.push(...r.value);
  } catch (error) {
    return { body: Uint8Array.from(parts), error };
  }
  return { body: Uint8Array.from(parts) };
}

/** Lets the output be read to its end after the answer completed. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

function expectMalformed(fn: () => unknown): void {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(GatewayError);
  expect((thrown as GatewayError).code).toBe("BACKEND_MALFORMED");
}

describe("declaredLength (RFC 9110 §8.6)", () => {
  const cases: [string, [string, string][], number | undefined][] = [
    ["none", [], undefined],
    ["one value", [["Content-Length", "5"]], 5],
    ["zero", [["content-length", "0"]], 0],
    ["OWS around the value", [["Content-Length", " 12 "]], 12],
    ["leading zeros are still decimal digits", [["Content-Length", "05"]], 5],
    ["identical list elements fold to one", [["Content-Length", "5, 5"]], 5],
    ["identical repeated fields fold to one", [["Content-Length", "5"], ["CONTENT-LENGTH", "5"]], 5],
    ["15 digits", [["Content-Length", "999999999999999"]], 999999999999999],
  ];
  for (const [name, fields, expected] of cases) test(name, () => expect(declaredLength(fields)).toBe(expected));

  const refused: [string, string[]][] = [
    ["different list elements", ["5, 50"]],
    ["different repeated fields", ["5", "6"]],
    ["negative", ["-1"]],
    ["a sign", ["+5"]],
    ["empty", [""]],
    ["an empty list element", ["5,"]],
    ["hexadecimal", ["0x10"]],
    ["a fraction", ["5.0"]],
    ["a unit", ["5 bytes"]],
    ["16 digits, past exact doubles", ["1000000000000000"]],
  ];
  for (const [name, values] of refused) {
    test(`${name} -> 502`, () => expectMalformed(() => declaredLength(values.map((v) => ["Content-Length", v]))));
  }
});

describe("cgiResponse: framing", () => {
  test("a streamed body is cut at the declared length, and the backend's further output is read and dropped, logged once", async () => {
    const output = new FakeOutput([bytes("hel"), bytes("loHTTP/1.1 200 OK\r\n\r\n"), bytes("more"), bytes("and more")]);
    const { response, cuts } = answer(headWith([["Content-Length", "5"]]), output);
    expect(response.headers.get("content-length")).toBe("5");
    expect(new TextDecoder().decode((await readBody(response)).body)).toBe("hello");
    await settle();
    expect(output.ended).toBe(true);
    expect(output.cancelled).toBeUndefined();
    expect(cuts.map((c) => c.message)).toEqual(["CGI response: more output than its Content-Length of 5; the rest is dropped"]);
  });

  test("the answer is complete with the declared bytes, before the backend's output ends", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const output = new FakeOutput([bytes("hello")]);
    const read = output.read.bind(output);
    output.read = async () => (output.reads === 1 ? (await gate, read()) : read());
    const { response } = answer(headWith([["Content-Length", "5"]]), output);
    expect(new TextDecoder().decode((await readBody(response)).body)).toBe("hello");
    expect(output.ended).toBe(false);
    release();
    await settle();
    expect(output.ended).toBe(true);
  });

  test("a body shorter than declared errors the stream: the connection is closed, not the answer ended", async () => {
    const output = new FakeOutput([bytes("hello")]);
    const { response, cuts } = answer(headWith([["Content-Length", "10"]]), output);
    const { body, error } = await readBody(response);
    expect(new TextDecoder().decode(body)).toBe("hello");
    expect(error).toBeInstanceOf(GatewayError);
    expect(cuts.map((c) => c.message)).toEqual(["CGI response: output ended 5 bytes short of its Content-Length of 10"]);
  });

  test("a whole body shorter than declared -> 502 (nothing was sent)", () => {
    expectMalformed(() => answer(headWith([["Content-Length", "10"]]), new FakeOutput([]), { parts: [bytes("hello")], ended: true }));
  });

  test("a whole body longer than declared: the declared prefix, the excess logged", async () => {
    const { response, cuts } = answer(headWith([["Content-Length", "5"]]), new FakeOutput([]), { parts: [bytes("hel"), bytes("lo, world")], ended: true });
    expect(response.headers.get("content-length")).toBe("5");
    expect(await response.text()).toBe("hello");
    expect(cuts).toHaveLength(1);
  });

  test("Content-Length: 0 with output after it: an empty body", async () => {
    const output = new FakeOutput([bytes("x")]);
    const { response } = answer(headWith([["Content-Length", "0"]]), output);
    expect(response.headers.get("content-length")).toBe("0");
    expect((await readBody(response)).body).toEqual(new Uint8Array(0));
  });

  test("no Content-Length: the whole output, the server frames it", async () => {
    const { response, cuts } = answer(headWith([]), new FakeOutput([bytes("hel"), bytes("lo")]));
    expect(response.headers.get("content-length")).toBeNull();
    expect(await response.text()).toBe("hello");
    expect(cuts).toEqual([]);
  });

  test("a repeated identical length is sent once, as a number", () => {
    const { response } = answer(headWith([["Content-Length", "05, 05"]]), new FakeOutput([]));
    expect(response.headers.get("content-length")).toBe("5");
  });

  test("Content-Length: 5, 50 -> 502", () => expectMalformed(() => answer(headWith([["Content-Length", "5, 50"]]), new FakeOutput([]))));
  test("Content-Length: -1 -> 502", () => expectMalformed(() => answer(headWith([["Content-Length", "-1"]]), new FakeOutput([]))));

  test("HEAD: the backend's length is kept, no body", async () => {
    const output = new FakeOutput([bytes("hello")]);
    const { response } = answer(headWith([["Content-Length", "5"]]), output, { head: true });
    expect(response.headers.get("content-length")).toBe("5");
    expect(response.body).toBeNull();
    await settle();
    expect(output.ended).toBe(true);
  });

  test("HEAD with a bad length -> 502", () => {
    expectMalformed(() => answer(headWith([["Content-Length", "5, 50"]]), new FakeOutput([]), { head: true }));
  });

  for (const status of [204, 304]) {
    test(`a Content-Length on a ${status} is dropped`, async () => {
      const output = new FakeOutput([bytes("hello")]);
      const { response } = answer(headWith([["Content-Length", "5"]], status), output);
      expect(response.status).toBe(status);
      expect(response.headers.get("content-length")).toBeNull();
      await settle();
      expect(output.ended).toBe(true);
    });
  }

  test("a 1xx status -> 502", () => expectMalformed(() => answer(headWith([], 103), new FakeOutput([]))));

  test("the client stops reading: the backend is stopped", async () => {
    const output = new FakeOutput([bytes("hello"), bytes("world")]);
    const { response } = answer(headWith([]), output);
    await response.body!.cancel();
    expect(output.cancelled?.code).toBe("CLIENT_CLOSED");
  });

  test("output lost mid-body: the stream errors and the cut is logged", async () => {
    const lost = new GatewayError("BACKEND_IDLE_TIMEOUT", "no answer");
    const { response, cuts } = answer(headWith([]), new FakeOutput([bytes("hel")], lost));
    expect((await readBody(response)).error).toBe(lost);
    expect(cuts).toEqual([lost]);
  });

  test("re-chunked at random, the client gets exactly the declared prefix (or a cut body when too short)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 300 }),
        fc.nat({ max: 320 }),
        fc.array(fc.nat({ max: 300 }), { maxLength: 8 }),
        fc.nat({ max: 300 }),
        async (output, declared, cuts, alreadyRead) => {
          const read = Math.min(alreadyRead, output.length);
          const points = [...new Set([read, ...cuts.filter((c) => c > read && c < output.length)])].sort((a, b) => a - b);
          const chunks = points.map((p, i) => output.subarray(p, points[i + 1] ?? output.length));
          const fake = new FakeOutput(chunks);
          const { response, cuts: logged } = answer(headWith([["Content-Length", String(declared)]]), fake, { parts: [output.subarray(0, read)] });
          const { body, error } = await readBody(response);
          await settle();
          if (output.length >= declared) {
            expect(error).toBeUndefined();
            expect(body).toEqual(output.subarray(0, declared));
            expect(logged).toHaveLength(output.length > declared ? 1 : 0);
            expect(fake.ended).toBe(true);
          } else {
            expect(error).toBeInstanceOf(GatewayError);
            expect(body).toEqual(output);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("cgiResponse: hop-by-hop fields (RFC 9110 §7.6.1)", () => {
  test("the connection fields and those Connection names are not passed on", () => {
    const { response } = answer(
      headWith([
        ["Connection", "close, X-Internal"],
        ["connection", "x-other"],
        ["X-Internal", "secret"],
        ["X-Other", "secret"],
        ["Keep-Alive", "timeout=99"],
        ["Transfer-Encoding", "chunked"],
        ["TE", "trailers"],
        ["Trailer", "X-T"],
        ["Upgrade", "h2c"],
        ["Proxy-Connection", "keep-alive"],
        ["X-Kept", "yes"],
      ]),
      new FakeOutput([]),
      { parts: [bytes("hello")], ended: true },
    );
    expect([...response.headers.keys()].sort()).toEqual(["content-length", "content-type", "x-kept"]);
  });

  test("repeated Set-Cookie stay apart beside a dropped field", () => {
    const { response } = answer(
      headWith([
        ["Connection", "X-Internal"],
        ["X-Internal", "secret"],
        ["Set-Cookie", "a=1"],
        ["Set-Cookie", "b=2"],
      ]),
      new FakeOutput([]),
      { parts: [], ended: true },
    );
    expect(response.headers.getSetCookie()).toEqual(["a=1", "b=2"]);
    expect(response.headers.has("x-internal")).toBe(false);
  });
});
