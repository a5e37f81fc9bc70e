// Validators and conditional requests for files (RFC 9110 §8.8 validators,
// §13 conditional requests): weak ETags, If-None-Match, If-Modified-Since, If-Range.

import type { FileStat } from "../../src/runtime.ts";

export interface Validators {
  /** Absent when ETags are turned off. */
  etag?: string;
  /** Last-Modified as sent: milliseconds, rounded down to the second an HTTP-date can carry. */
  lastModified: number;
}

/**
 * A weak entity tag from size and mtime (RFC 9110 §8.8.3: "W/" marks it weak,
 * since two versions written within a millisecond and of one size share it).
 */
export function weakEtag(stat: FileStat): string {
  return `W/"${stat.size.toString(16)}-${Math.floor(stat.mtimeMs).toString(16)}"`;
}

export function validatorsOf(stat: FileStat, etag: boolean): Validators {
  const lastModified = Math.floor(stat.mtimeMs / 1000) * 1000;
  return etag ? { etag: weakEtag(stat), lastModified } : { lastModified };
}

/** True when a GET or HEAD is answered 304 Not Modified (RFC 9110 §13.2.2 steps 3 and 4). */
export function notModified(headers: Headers, v: Validators): boolean {
  const ifNoneMatch = headers.get("if-none-match");
  // §13.1.2: "*" matches any current representation; a list is compared weakly (§8.8.3.2).
  if (ifNoneMatch !== null) {
    if (ifNoneMatch.trim() === "*") return true;
    return v.etag !== undefined && entityTags(ifNoneMatch).some((tag) => opaque(tag) === opaque(v.etag!));
  }
  // §13.1.3: evaluated only without If-None-Match; an invalid date is ignored.
  const since = Date.parse(headers.get("if-modified-since") ?? "");
  return !Number.isNaN(since) && v.lastModified <= since;
}

/**
 * True when the Range of a request may be honoured (RFC 9110 §13.1.5): an
 * entity-tag must match by strong comparison, so a weak one never does; a date
 * must equal Last-Modified exactly.
 */
export function ifRangeMatches(value: string, v: Validators): boolean {
  const trimmed = value.trim();
  if (trimmed.startsWith('"') || trimmed.startsWith("W/")) {
    return !isWeak(trimmed) && trimmed === v.etag;
  }
  return Date.parse(trimmed) === v.lastModified;
}

/** The entity-tags of a list (RFC 9110 §8.8.3: a tag may hold commas, so split by quotes). */
function entityTags(list: string): string[] {
  return list.match(/(?:W\/)?"[^"]*"/g) ?? [];
}

function isWeak(tag: string): boolean {
  return tag.startsWith("W/");
}

function opaque(tag: string): string {
  return isWeak(tag) ? tag.slice(2) : tag;
}
