// Access log lines in the combined log format (Apache/nginx "combined"):
// host ident user [time] "request line" status bytes "referer" "user-agent",
// made from a request's record (src/request-record.ts) once its answer is over.

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

/** Quoted field: `"` and `\` escaped, control bytes as \xHH, so a header cannot forge a log line. */
function quote(value: string | null): string {
  if (value === null || value === "") return '"-"';
  return `"${value.replace(/[\\"\x00-\x1f\x7f]/g, (ch) => (ch === '"' || ch === "\\" ? `\\${ch}` : `\\x${ch.charCodeAt(0).toString(16).padStart(2, "0")}`))}"`;
}

/** The record's line; bytes are those of the body actually sent, as nginx's $body_bytes_sent. */
export function combinedLine(record: RequestRecord): string {
  const requestLine = quote(`${record.method} ${record.target} ${record.protocol}`);
  return `${record.client || "-"} - - [${logTime(record.start)}] ${requestLine} ${record.status ?? 0} ${record.bytesSent} ${quote(record.referer)} ${quote(record.userAgent)}`;
}
