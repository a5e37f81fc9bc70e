// The Range request header for one file (RFC 9110 §14.1.1 byte ranges,
// §14.2 Range): a single range is served as 206; anything else is the whole file.

export interface ByteRange {
  /** First and last byte offsets, inclusive (RFC 9110 §14.1.1 first-pos, last-pos). */
  start: number;
  end: number;
}

// One range-spec: "a-b", "a-" or "-n". Several ranges (multipart/byteranges,
// §14.6) are not produced: a server MAY ignore Range (§14.2), so a list is
// answered with the whole file, as an invalid specifier is.
const SINGLE_RANGE = /^bytes[ \t]*=[ \t]*(\d*)-(\d*)[ \t]*$/i;

/** The range to send of a file of `size` bytes; undefined for the whole file. */
export function parseRange(header: string, size: number): ByteRange | "unsatisfiable" | undefined {
  const match = SINGLE_RANGE.exec(header);
  if (!match) return undefined;
  const [, first = "", last = ""] = match;
  if (first === "") {
    // suffix-range: the last n bytes; n = 0 selects nothing (§14.1.1).
    if (last === "") return undefined;
    const length = Number(last);
    return length === 0 ? "unsatisfiable" : { start: Math.max(0, size - length), end: size - 1 };
  }
  const start = Number(first);
  const end = last === "" ? Infinity : Number(last);
  // §14.1.1: last-pos below first-pos makes the range invalid, hence ignored.
  if (end < start) return undefined;
  // §14.1.1: an int-range is satisfiable only when first-pos < length.
  if (start >= size) return "unsatisfiable";
  return { start, end: Math.min(end, size - 1) };
}
