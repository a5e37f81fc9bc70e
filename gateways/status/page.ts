// The status page (lighttpd's mod_status, nginx's stub_status as a page):
// one self-contained HTML document, no external asset, every value from the
// snapshot HTML-escaped. A small script (allowed by its nonce alone, see
// endpoints.ts's Content-Security-Policy) fetches the page again every few
// seconds and puts the new body in place; without scripts a meta refresh
// reloads it.

import type { StatusSnapshot } from "./snapshot.ts";

/** Seconds between two refreshes of the page. */
export const REFRESH_SECONDS = 2;

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Text or an attribute value as HTML shows it, never markup (HTML Living Standard §13.1.2.6). */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;background:#fff}
h1{font-size:1.4em;margin:0 0 .2em}h2{font-size:1.1em;margin:1.4em 0 .4em}
table{border-collapse:collapse;min-width:40em}th,td{padding:.25em .7em;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.n{text-align:right;font-variant-numeric:tabular-nums}
.up{color:#106b21;font-weight:600}.down{color:#b00020;font-weight:600}
#state{color:#666}#state.stale{color:#b00020}
pre{margin:0;white-space:pre-wrap;word-break:break-all;font-size:12px}`;

// Fetches the page, parses it apart (DOMParser: scripts in it never run) and
// swaps in its #status element; says when the last refresh worked.
const SCRIPT = `
const state = document.getElementById("state");
async function refresh() {
  try {
    const answer = await fetch(location.href, { cache: "no-store", headers: { accept: "text/html" } });
    if (!answer.ok) throw new Error("HTTP " + answer.status);
    const next = new DOMParser().parseFromString(await answer.text(), "text/html").getElementById("status");
    if (!next) throw new Error("no status in the answer");
    document.getElementById("status").replaceWith(document.importNode(next, true));
    state.textContent = "updated " + new Date().toLocaleTimeString();
    state.className = "";
  } catch (err) {
    state.textContent = "not updated: " + err.message;
    state.className = "stale";
  }
}
setInterval(refresh, ${REFRESH_SECONDS * 1000});`;

export function statusPage(snapshot: StatusSnapshot, nonce: string): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>postern status</title>
<noscript><meta http-equiv="refresh" content="${REFRESH_SECONDS}"></noscript>
<style>${STYLE}</style></head>
<body><h1>postern status</h1><p id="state">refreshes every ${REFRESH_SECONDS} s</p>
${statusSection(snapshot)}
<script nonce="${escapeHtml(nonce)}">${SCRIPT}</script></body></html>
`;
}

function statusSection(s: StatusSnapshot): string {
  const uptime = s.startTime === undefined ? "" : `, up ${formatDuration(Math.max(0, Math.round(s.time - s.startTime)))}`;
  const memory = s.residentBytes === undefined ? "" : `, ${(s.residentBytes / 1024 / 1024).toFixed(1)} MiB resident`;
  return `<div id="status">
<p>${escapeHtml(`${s.runtime}${uptime}${memory}`)}; as of ${escapeHtml(new Date(s.time * 1000).toISOString())}</p>
<h2>Routes</h2>
${table(
  "routes",
  ["route", "gateway", "path", "requests", "errors", "queued", "running"],
  s.routes.map((r) => [text(r.name), text(r.gateway), text(r.path), num(r.requests), num(r.errors), num(r.queued), num(r.processes ?? (r.threads ? r.threads.busy : undefined))]),
)}
<h2>Backends</h2>
${table(
  "backends",
  ["route", "backend", "health", "last check", "in use", "idle", "opening", "queued"],
  s.routes.flatMap((r) =>
    (r.backends ?? []).map((b) => [
      text(r.name),
      text(b.address),
      health(b.healthy, b.checkedOut),
      text(lastCheck(b.lastCheck, s.time)),
      num(b.inUse),
      num(b.idle),
      num(b.opening),
      num(b.queued),
    ]),
  ),
)}
<h2>Workers</h2>
${table(
  "workers",
  ["route", "pid", "state", "restarts"],
  s.routes.flatMap((r) => (r.workers ?? []).map((w) => [text(r.name), num(w.pid), w.up ? `<td class="up">serving</td>` : `<td class="down">starting</td>`, num(w.restarts)])),
)}
<h2>Recent errors</h2>
${table(
  "errors",
  ["time", "line"],
  s.errors.map((e) => [text(new Date(e.time).toISOString()), `<td><pre>${escapeHtml(e.line)}</pre></td>`]),
)}
</div>`;
}

function table(id: string, head: string[], rows: string[][]): string {
  if (rows.length === 0) return `<p id="${id}">none</p>`;
  const header = `<tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join("")}</tr>`;
  return `<table id="${id}">${header}${rows.map((cells) => `<tr>${cells.join("")}</tr>`).join("")}</table>`;
}

function text(value: string): string {
  return `<td>${escapeHtml(value)}</td>`;
}

function num(value: number | undefined): string {
  return `<td class="n">${value === undefined ? "" : escapeHtml(value)}</td>`;
}

function health(healthy: boolean, checkedOut: boolean): string {
  if (healthy) return `<td class="up">up</td>`;
  return `<td class="down">${checkedOut ? "down (health check)" : "down"}</td>`;
}

/** "200, 1 s ago", "no answer, 3 s ago"; "" where the backend has no active health check. */
function lastCheck(check: { at: number; status?: number } | undefined, now: number): string {
  if (check === undefined) return "";
  return `${check.status ?? "no answer"}, ${Math.max(0, Math.round(now - check.at / 1000))} s ago`;
}

function formatDuration(seconds: number): string {
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return `${d > 0 ? `${d}d ` : ""}${h}h ${m}m ${seconds % 60}s`;
}
