// Access log lines in the combined log format (Apache/nginx "combined"):
// host ident user [time] "request line" status bytes "referer" "user-agent".

import type { ConnInfo } from "./cgi/conn.ts";

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

export function combinedLine(request: Request, response: Response, conn: ConnInfo, ms: number): string {
  const url = request.url;
  // The path and query as in the request line: everything after the authority.
  const target = url.slice(url.indexOf("/", url.indexOf("//") + 2));
  const host = conn.remoteAddress || "-";
  const bytes = response.headers.get("content-length") ?? "-";
  const requestLine = quote(`${request.method} ${target} HTTP/${conn.httpVersion}`);
  return `${host} - - [${logTime(ms)}] ${requestLine} ${response.status} ${bytes} ${quote(request.headers.get("referer"))} ${quote(request.headers.get("user-agent"))}`;
}
