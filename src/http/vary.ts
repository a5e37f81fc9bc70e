// The Vary field (RFC 9110 §12.5.5): the request fields an answer depends on,
// told to caches so that they keep one answer per value.

/** Adds `field` to `headers`' Vary unless it is there already or Vary is "*". */
export function addVary(headers: Headers, field: string): void {
  const vary = headers.get("vary");
  const names = (vary ?? "").split(",").map((name) => name.trim().toLowerCase());
  if (names.includes("*") || names.includes(field.toLowerCase())) return;
  headers.set("vary", vary === null || vary.trim() === "" ? field : `${vary}, ${field}`);
}
