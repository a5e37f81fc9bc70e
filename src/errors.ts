// One error type for everything that goes wrong between postern and a backend.
// Each code maps to the HTTP status the client sees (DESIGN.md, "HTTP answers
// of the gateway itself"); the detail goes to the error log, never to the client.

import { errorPage, type ErrorPageOptions } from "./http/error-page.ts";

export const STATUS_BY_CODE = {
  BACKEND_UNREACHABLE: 502, // refused, reset or closed before a response
  BACKEND_MALFORMED: 502, // the backend answered something that is not its protocol
  BACKEND_CONNECT_TIMEOUT: 504,
  BACKEND_FIRST_BYTE_TIMEOUT: 504,
  BACKEND_IDLE_TIMEOUT: 504,
  BACKEND_OVERLOADED: 503, // the backend said so, or postern's queue for it is full
  BODY_TOO_LARGE: 413,
  // RFC 9110 §15.5.9: the client sent nothing of its body for too long (nginx client_body_timeout).
  CLIENT_TIMEOUT: 408,
  // Memory for bodies and answers is taken up (max_buffered_total) and no temporary file can hold more.
  BUFFERS_FULL: 503,
  HEADERS_TOO_LARGE: 431,
  URI_TOO_LONG: 414,
  BAD_REQUEST: 400,
  NOT_FOUND: 404,
  FORBIDDEN: 403,
  INTERNAL: 500,
  // The client went away before its answer (nginx logs these as 499); nobody reads the page.
  CLIENT_CLOSED: 499,
} as const;

export type ErrorCode = keyof typeof STATUS_BY_CODE;

export class GatewayError extends Error {
  readonly code: ErrorCode;
  /** Seconds, for 503 answers: sent as Retry-After. */
  readonly retryAfter: number | undefined;

  constructor(code: ErrorCode, detail: string, options?: { cause?: unknown; retryAfter?: number }) {
    super(detail, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "GatewayError";
    this.code = code;
    this.retryAfter = options?.retryAfter;
  }

  get status(): number {
    return STATUS_BY_CODE[this.code];
  }
}

export function isGatewayError(err: unknown): err is GatewayError {
  return err instanceof GatewayError;
}

/** The page a client sees for an error (src/http/error-page.ts): status and reason only, no backend internals. */
export function errorResponse(status: number, options: ErrorPageOptions = {}): Response {
  // The rest of a refused body is never read: the connection cannot carry
  // another request (nginx closes it the same way).
  const page = errorPage(status, status === 413 || status === 408 ? { ...options, close: true } : options);
  return new Response(page.body, { status, headers: page.headers });
}

/** Maps any failure to the client's response; unknown errors are 500. */
export function responseForError(err: unknown): Response {
  if (isGatewayError(err)) return errorResponse(err.status, { retryAfter: err.retryAfter });
  return errorResponse(500);
}
