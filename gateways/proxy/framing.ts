// Where a backend's response body ends (RFC 9112 §6.3), decided once from its
// head, and whether the connection may carry another request after it. What
// is ambiguous is refused (502, the connection closed), never guessed: a
// Transfer-Encoding with a Content-Length (§6.3 item 3: "ought to be handled
// as an error", the request smuggling and response splitting pattern), a
// transfer coding other than chunked alone, Transfer-Encoding in an HTTP/1.0
// answer (§6.1), and Content-Length values that differ (RFC 9110 §8.6).

import { declaredLength } from "../../src/cgi/framing.ts";
import { malformed, type ResponseHead } from "./response-head.ts";

export type BodyFraming = { kind: "none" } | { kind: "length"; length: number } | { kind: "chunked" } | { kind: "close" };

export interface Framing {
  body: BodyFraming;
  /** The connection may carry the next request once this body has been read whole. */
  reusable: boolean;
}

/** How the body after `head` is framed; `isHead`: the answer is to a HEAD request. Throws BACKEND_MALFORMED. */
export function responseFraming(head: ResponseHead, isHead: boolean): Framing {
  let te: string | undefined;
  let close = head.minor === 0;
  for (const [name, value] of head.headers) {
    const lower = name.toLowerCase();
    if (lower === "transfer-encoding") te = te === undefined ? value : `${te},${value}`;
    else if (lower === "connection" && value.split(",").some((t) => t.trim().toLowerCase() === "close")) close = true;
  }
  const length = declaredLength(head.headers);
  // §6.3 item 1: these never have a body, whatever their fields say.
  if (isHead || head.status < 200 || head.status === 204 || head.status === 304) return { body: { kind: "none" }, reusable: !close };
  if (te !== undefined) {
    if (length !== undefined) throw malformed("both Transfer-Encoding and Content-Length (RFC 9112 §6.3)");
    if (head.minor === 0) throw malformed("Transfer-Encoding in an HTTP/1.0 answer (RFC 9112 §6.1)");
    const codings = te.split(",").map((t) => t.trim().toLowerCase()).filter((t) => t !== "");
    if (codings.length !== 1 || codings[0] !== "chunked") throw malformed(`Transfer-Encoding ${JSON.stringify(te)}: only chunked alone is read`);
    return { body: { kind: "chunked" }, reusable: !close };
  }
  if (length !== undefined) return { body: { kind: "length", length }, reusable: !close };
  // §6.3 item 8: the body runs until the backend closes the connection.
  return { body: { kind: "close" }, reusable: false };
}
