// How a backend's answer is framed for the client: the gateway, not the
// backend, decides where the body ends. A backend's Content-Length is
// checked (RFC 9110 §8.6) and then enforced: exactly that many bytes are
// sent, never more — bytes past it would be read by the client as the start
// of the next response on a kept-alive connection (response splitting,
// CWE-113) — and never fewer without the client seeing a broken body.
// Without a Content-Length the runtime's server frames the body (chunked,
// or close).

import { GatewayError } from "../errors.ts";
import type { CgiOutput } from "./answer.ts";

/** RFC 9110 §8.6: Content-Length = 1*DIGIT; 15 digits keep the number exact in a double. */
const DIGITS = /^[0-9]{1,15}$/;

/**
 * The body length a backend declared in its Content-Length field lines;
 * undefined when it sent none. A list of identical values (`5, 5`, or the
 * field twice) counts as one, as RFC 9110 §8.6 allows; anything else (`5, 50`,
 * `-1`, `5 bytes`) is a malformed answer: the gateway cannot know where the
 * backend meant its body to end.
 */
export function declaredLength(fields: readonly (readonly [string, string])[]): number | undefined {
  let value: string | undefined;
  for (const [name, field] of fields) {
    if (name.length !== 14 || name.toLowerCase() !== "content-length") continue;
    for (const element of field.split(",")) {
      const digits = element.trim();
      if (!DIGITS.test(digits)) throw malformed(`bad Content-Length ${JSON.stringify(field)}`);
      if (value !== undefined && value !== digits) throw malformed(`Content-Length ${JSON.stringify(field)} differs from ${value}`);
      value = digits;
    }
  }
  return value === undefined ? undefined : Number(value);
}

export interface FramingHooks {
  /** Hears what the client will not get as the backend wrote it: a body cut short, or bytes past the declared length dropped. */
  onCut(reason: GatewayError): void;
}

/**
 * The body after `parts`, read from `output` as the client reads it
 * (highWaterMark 0: backpressure reaches the backend). With a `length`, it
 * ends after exactly `length` bytes: the answer is then complete for the
 * client while the backend may run on, its further output read and dropped;
 * an output that ends sooner errors the stream, so the server closes the
 * connection instead of ending the response.
 */
export function framedBody(parts: Uint8Array[], output: CgiOutput, length: number | undefined, hooks: FramingHooks): ReadableStream<Uint8Array> {
  let remaining = length ?? Infinity;
  /** Passes on what fits in the declared length; once the body is complete, closes it and returns the bytes left over. */
  const take = (chunk: Uint8Array, controller: ReadableStreamDefaultController<Uint8Array>): number | undefined => {
    if (chunk.byteLength < remaining) {
      if (chunk.byteLength > 0) controller.enqueue(chunk);
      remaining -= chunk.byteLength;
      return undefined;
    }
    if (remaining > 0) controller.enqueue(chunk.subarray(0, remaining));
    const excess = chunk.byteLength - remaining;
    remaining = 0;
    controller.close();
    return excess;
  };
  return new ReadableStream<Uint8Array>(
    {
      start: (controller) => {
        let excess: number | undefined;
        let i = 0;
        while (excess === undefined && i < parts.length) excess = take(parts[i++]!, controller);
        if (excess === undefined && remaining === 0) excess = take(new Uint8Array(0), controller);
        if (excess === undefined) return;
        while (excess === 0 && i < parts.length) excess = parts[i++]!.byteLength;
        discardRest(output, length, excess > 0, hooks);
      },
      pull: async (controller) => {
        try {
          // An empty chunk enqueues nothing, and a pull that enqueues nothing is not called again.
          let chunk = await output.read();
          while (chunk !== null && chunk.byteLength === 0) chunk = await output.read();
          if (chunk !== null) {
            const excess = take(chunk, controller);
            if (excess !== undefined) discardRest(output, length, excess > 0, hooks);
            return;
          }
          if (remaining !== Infinity) throw short(length!, remaining);
          controller.close();
        } catch (err) {
          // The client must not take a cut body for a whole one.
          const reason = err instanceof GatewayError ? err : new GatewayError("BACKEND_UNREACHABLE", String(err), { cause: err });
          if (reason.code !== "CLIENT_CLOSED") hooks.onCut(reason);
          controller.error(reason);
        }
      },
      cancel: () => output.cancel(new GatewayError("CLIENT_CLOSED", "client stopped reading")),
    },
    { highWaterMark: 0 },
  );
}

/**
 * The whole body when the output has already ended: its first `length`
 * bytes. Fewer bytes than declared is a malformed answer (nothing has been
 * sent yet: the client gets a 502).
 */
export function framedWhole(whole: Uint8Array, length: number | undefined, hooks: FramingHooks): Uint8Array {
  if (length === undefined || whole.byteLength === length) return whole;
  if (whole.byteLength < length) throw short(length, length - whole.byteLength);
  hooks.onCut(excess(length));
  return whole.subarray(0, length);
}

/**
 * After the client has its whole answer, the backend is let finish, within
 * bounds: its further output is read and dropped up to RUN_ON_BYTES and for
 * RUN_ON_MS, then it is stopped (nginx stops it at once); so an endless
 * answer (an event stream) cannot hold its slot for good. One whose answer
 * was a head alone (HEAD, 204, 304) gets RUN_ON_MS to end, output or not (PHP
 * writes nothing for a HEAD while its script loops on), so that a few HEADs
 * cannot pin a route's every slot. One that sent its whole body runs on
 * silently as long as it likes (a script that flushes its page and goes on
 * indexing), within its own timeouts.
 */
export const RUN_ON_BYTES = 1024 * 1024;
export const RUN_ON_MS = 1_000;

/**
 * The answer is complete (a HEAD answer, a 204, or all the declared bytes
 * sent) but the backend's output is not: it is read to its end and dropped,
 * so that the backend finishes as it would, keeping its slot until then —
 * in the background, or as the gateway's `runOn` arranges — within the
 * bounds above (`headOnly`: the answer had no body). Bytes past a declared length
 * (`excessRead`: some were read already) are logged once.
 */
export function discardRest(output: CgiOutput, length: number | undefined, excessRead: boolean, hooks: FramingHooks, headOnly = false): void {
  const drain = async (): Promise<void> => {
    let logged = false;
    let bytesLeft = RUN_ON_BYTES;
    const until = Date.now() + RUN_ON_MS;
    const stop = () => output.cancel(new GatewayError("CLIENT_CLOSED", "the client has its whole answer; the backend ran on past it"));
    const timer = headOnly ? setTimeout(stop, RUN_ON_MS) : undefined;
    if (length !== undefined && excessRead) {
      logged = true;
      hooks.onCut(excess(length));
    }
    try {
      for (;;) {
        const chunk = await output.read();
        if (chunk === null) return;
        if (chunk.byteLength > 0 && length !== undefined && !logged) {
          logged = true;
          hooks.onCut(excess(length));
        }
        bytesLeft -= chunk.byteLength;
        if (bytesLeft < 0 || Date.now() > until) return stop();
      }
    } catch {
      // The gateway stopped the backend; nobody waits for these bytes.
    } finally {
      clearTimeout(timer);
    }
  };
  if (output.runOn) output.runOn(drain);
  else void drain();
}

function short(length: number, missing: number): GatewayError {
  return malformed(`output ended ${missing} bytes short of its Content-Length of ${length}`);
}

function excess(length: number): GatewayError {
  return malformed(`more output than its Content-Length of ${length}; the rest is dropped`);
}

function malformed(detail: string): GatewayError {
  return new GatewayError("BACKEND_MALFORMED", `CGI response: ${detail}`);
}
