// Access log lines, made from a request's record (src/request-record.ts) once
// its answer is over, in one of two formats (access_log_format):
// - "combined", Apache's and nginx's: host ident user [time] "request line"
//   status bytes "referer" "user-agent";
// - "json": one JSON object per line (the fields of JSON_FIELDS), as Caddy
//   writes its access log and nginx's `log_format escape=json` makes one.
// Whatever a client sends, it stays inside its field and its line: quoted
// fields escape `"`, `\` and control bytes, JSON strings are JSON-escaped.

import type { RequestRecord } from "./request-record.ts";

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

let cachedSecond = -1;
let cachedStamp = "";

/** `24/Nov/2026:09:10:07 +0000`, always in UTC; formatted once per second. */
export function logTime(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== cachedSecond) {
    const d = new Date(second * 1000);
    const p = (n: number) => (n < 10 ? `0${n}` : String(n));
    cachedStamp = `${p(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
    cachedSecond = second;
  }
  return cachedStamp;
}

/**
 * Characters that could end or break a line for some reader: C0 and C1
 * controls (NEL, U+0085, ends a line for Unicode-aware readers; a header may
 * carry it as obs-text, RFC 9110 §5.5), DEL, and U+2028/U+2029.
 */
const LINE_BREAKING = /[\x00-\x1f\x7f-\x9f\u2028\u2029]/;
const EVERY_LINE_BREAKING = new RegExp(LINE_BREAKING.source, "g");

/** `\xHH`, or `\uHHHH` above U+00FF. */
function escapeChar(ch: string): string {
  const code = ch.charCodeAt(0);
  return code > 0xff ? `\\u${code.toString(16)}` : `\\x${code.toString(16).padStart(2, "0")}`;
}

/** `value` with each line-breaking character as \xHH (\uHHHH above U+00FF): one line, whatever a client put in it. */
export function escapeLineBreaks(value: string): string {
  return LINE_BREAKING.test(value) ? value.replace(EVERY_LINE_BREAKING, escapeChar) : value;
}

/** Quoted field: `"` and `\` escaped, line-breaking characters as \xHH, so a header cannot forge a log line. */
export function quote(value: string | null): string {
  if (value === null || value === "") return '"-"';
  return `"${value.replace(/[\\"\x00-\x1f\x7f-\x9f\u2028\u2029]/g, (ch) => (ch === '"' || ch === "\\" ? `\\${ch}` : escapeChar(ch)))}"`;
}

/** The record's line; bytes are those of the body actually sent, as nginx's $body_bytes_sent. */
export function combinedLine(record: RequestRecord): string {
  const requestLine = quote(`${record.method} ${record.target} ${record.protocol}`);
  return `${record.client || "-"} - - [${logTime(record.start)}] ${requestLine} ${record.status ?? 0} ${record.bytesSent} ${quote(record.referer)} ${quote(record.userAgent)}`;
}

export const ACCESS_LOG_FORMATS = ["combined", "json"] as const;
export type AccessLogFormat = (typeof ACCESS_LOG_FORMATS)[number];

/** The line writer of a format. */
export function accessLine(format: AccessLogFormat): (record: RequestRecord) => string {
  return format === "json" ? jsonLine : combinedLine;
}

/** Milliseconds to the microsecond: what a log reader can still tell apart. */
const ms = (value: number | undefined) => (value === undefined ? null : Math.round(value * 1000) / 1000);

/**
 * The record as one JSON object. Times are milliseconds; an unknown value
 * (no backend, a header not sent) is null, so that every line has every key.
 */
export function jsonLine(record: RequestRecord): string {
  const line = JSON.stringify({
    time: new Date(record.start).toISOString(),
    client: record.client || null,
    method: record.method,
    target: record.target,
    protocol: record.protocol,
    status: record.status ?? null,
    bytes_sent: record.bytesSent,
    duration: ms(record.durationMs),
    route: record.route ?? null,
    backend: record.backend ?? null,
    upstream_time: ms(record.upstreamMs),
    referer: record.referer,
    user_agent: record.userAgent,
  });
  // JSON escapes C0 controls only: the others that may break a line are escaped as JSON's \u00HH.
  return LINE_BREAKING.test(line) ? line.replace(EVERY_LINE_BREAKING, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`) : line;
}
