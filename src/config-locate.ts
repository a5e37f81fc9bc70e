// Finds the line of a key in postern.toml's raw text, for error messages.
// smol-toml reports no positions for values, so this scans the TOML grammar
// (https://toml.io/en/v1.0.0) just far enough to know where each table header
// and each `key =` starts. Strings, comments, arrays and inline tables are
// skipped whole, so a `[[routes]]` inside a multi-line string or a comment is
// never taken for a header. It runs on text smol-toml has already accepted.

/** A key as TOML nests it: names, and indexes into arrays of tables. */
export type KeyPath = readonly (string | number)[];

/** `routes[1].spawn.procs`; keys that are not bare TOML keys are quoted. */
export function formatKey(path: KeyPath): string {
  return path
    .map((part, i) =>
      typeof part === "number"
        ? `[${part}]`
        : `${i === 0 ? "" : "."}${/^[A-Za-z0-9_-]+$/.test(part) ? part : JSON.stringify(part)}`,
    )
    .join("");
}

interface Entry {
  path: KeyPath;
  pos: number;
}

/**
 * The 1-based line of `path` (e.g. `["routes", 1, "spawn", "procs"]`): where the
 * key or table is written, else the first key under it (dotted keys), else its
 * nearest ancestor (a key inside an inline table gives the line of that table's
 * key). Undefined when not even an ancestor is written in the text.
 */
export function locate(text: string, path: KeyPath): number | undefined {
  const entries = scan(text);
  const under = (e: Entry) => startsWith(e.path, path);
  const hit =
    entries.find((e) => under(e) && e.path.length === path.length) ??
    entries.find(under) ??
    entries.filter((e) => startsWith(path, e.path)).reduce<Entry | undefined>(
      (best, e) => (best && best.path.length >= e.path.length ? best : e),
      undefined,
    );
  return hit && text.slice(0, hit.pos).split("\n").length;
}

function startsWith(path: KeyPath, prefix: KeyPath): boolean {
  return prefix.length <= path.length && prefix.every((part, i) => path[i] === part);
}

/** Every table header and `key = value` in the text, with its full key path. */
function scan(text: string): Entry[] {
  const entries: Entry[] = [];
  const arrays = new Map<string, number>(); // array-of-tables path → elements seen so far
  let table: KeyPath = [];
  let p = 0;

  const skipSpace = (newlines: boolean) => {
    for (;;) {
      const c = text[p];
      if (c === " " || c === "\t" || (newlines && (c === "\n" || c === "\r"))) p++;
      else if (c === "#") while (p < text.length && text[p] !== "\n") p++;
      else return;
    }
  };

  const skipString = () => {
    const quote = text[p]!;
    const multi = text.startsWith(quote.repeat(3), p);
    p += multi ? 3 : 1;
    while (p < text.length) {
      if (quote === '"' && text[p] === "\\") p += 2;
      else if (multi && text.startsWith(quote.repeat(3), p)) {
        p += 3;
        // up to two quotes may end the content right before the delimiter
        for (let extra = 0; extra < 2 && text[p] === quote; extra++) p++;
        return;
      } else if (!multi && (text[p] === quote || text[p] === "\n")) {
        if (text[p] === quote) p++;
        return;
      } else p++;
    }
  };

  const keyPart = (): string => {
    const start = p;
    if (text[p] === '"' || text[p] === "'") {
      skipString();
      return unquote(text.slice(start, p));
    }
    while (p < text.length && /[A-Za-z0-9_-]/.test(text[p]!)) p++;
    return text.slice(start, p);
  };

  const key = (): string[] => {
    const parts: string[] = [];
    for (;;) {
      skipSpace(false);
      parts.push(keyPart());
      skipSpace(false);
      if (text[p] !== ".") return parts;
      p++;
    }
  };

  const skipValue = () => {
    const open = text[p];
    if (open === '"' || open === "'") return skipString();
    if (open === "[" || open === "{") {
      const close = open === "[" ? "]" : "}";
      p++;
      for (;;) {
        skipSpace(true);
        if (p >= text.length || text[p] === close) {
          p++;
          return;
        }
        const before = p;
        if (text[p] === ",") p++;
        else {
          if (open === "{") {
            key();
            if (text[p] === "=") p++;
            skipSpace(false);
          }
          skipValue();
        }
        if (p === before) p++;
      }
    }
    while (p < text.length && !",]}\n#".includes(text[p]!)) p++;
  };

  // [a.b] and [[a.b]] name the latest element of every array of tables they
  // pass through; [[a.b]] also starts a new element of a.b (TOML v1.0.0 "Array of Tables").
  const resolve = (parts: string[], isArray: boolean): KeyPath => {
    const out: (string | number)[] = [];
    parts.forEach((part, i) => {
      out.push(part);
      const id = JSON.stringify(out);
      const seen = arrays.get(id);
      if (isArray && i === parts.length - 1) {
        arrays.set(id, (seen ?? 0) + 1);
        out.push(seen ?? 0);
      } else if (seen !== undefined) out.push(seen - 1);
    });
    return out;
  };

  while (p < text.length) {
    skipSpace(true);
    const start = p;
    if (p >= text.length) break;
    if (text[p] === "[") {
      const isArray = text[p + 1] === "[";
      p += isArray ? 2 : 1;
      table = resolve(key(), isArray);
      p += isArray ? 2 : 1;
      entries.push({ path: table, pos: start });
    } else {
      const path = [...table, ...key()];
      if (text[p] === "=") {
        p++;
        skipSpace(false);
        skipValue();
      }
      entries.push({ path, pos: start });
    }
    if (p === start) p++;
  }
  return entries;
}

const ESCAPES: Record<string, string> = { b: "\b", t: "\t", n: "\n", f: "\f", r: "\r", e: "\x1b" };

/** The name a quoted key stands for (TOML v1.0.0 "Keys", "String" escapes). */
function unquote(quoted: string): string {
  const body = quoted.slice(1, -1);
  if (quoted[0] === "'") return body;
  return body.replace(
    /\\(?:u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|x([0-9a-fA-F]{2})|(.))/g,
    (_, u4?: string, u8?: string, x2?: string, char?: string) => {
      const hex = u4 ?? u8 ?? x2;
      return hex ? String.fromCodePoint(parseInt(hex, 16)) : (ESCAPES[char!] ?? char!);
    },
  );
}
