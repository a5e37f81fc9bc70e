// The rules of `[[rewrites]]` and `[[redirects]]` (src/rewrite/), as pure
// functions: $N substitution, the query, the loop limit, and that no result
// escapes the normalisation a client's own path goes through (src/paths.ts).

import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { gatewaySchemas } from "../gateways/index.ts";
import { parseConfig } from "../src/config.ts";
import { normalizePath, type EncodedSlashes } from "../src/paths.ts";
import type { RedirectOptions, RewriteOptions } from "../src/rewrite/options.ts";
import { redirect } from "../src/rewrite/redirect.ts";
import { MAX_REWRITES, rewrite } from "../src/rewrite/rewrite.ts";
import { compileRules } from "../src/rewrite/rules.ts";
import { substitute, withQuery } from "../src/rewrite/substitute.ts";
import { configError } from "./helpers/config-error.ts";

const rewrites = (...rules: RewriteOptions[]) => compileRules(rules);
const redirects = (...rules: (Omit<RedirectOptions, "status"> & { status?: number })[]) => compileRules(rules.map((r) => ({ status: 301, ...r })));

describe("substitute", () => {
  const match = /^\/(a)(b)?(c)$/.exec("/ac")!;

  test("$1…$9 are the groups, $0 the whole match", () => expect(substitute("/x/$1/$3?m=$0", match)).toBe("/x/a/c?m=/ac"));
  test("a group that took no part is empty", () => expect(substitute("/[$2]", match)).toBe("/[]"));
  test("a group past the last is empty; $10 is $1 then 0", () => expect(substitute("/$9/$10", match)).toBe("//a0"));
  test("a $ before no digit stays", () => expect(substitute("/$x$", match)).toBe("/$x$"));

  test("a group's own text is put in as it is, never substituted again", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[^/]*$/), fc.stringMatching(/^[^/]*$/), (one, two) => {
        const m = /^\/([^/]*)\/([^/]*)$/.exec(`/${one}/${two}`)!;
        expect(substitute("/p/$2/$1", m)).toBe(`/p/${two}/${one}`);
      }),
    );
  });
});

describe("withQuery: nginx's rule", () => {
  test("a to without ? keeps the client's query", () => expect(withQuery("/b", "?x=1")).toBe("/b?x=1"));
  test("a to with a query puts the client's after it", () => expect(withQuery("/i.php?p=a", "?x=1")).toBe("/i.php?p=a&x=1"));
  test("a to with a query and a client without one", () => expect(withQuery("/i.php?p=a", "")).toBe("/i.php?p=a"));
  test("a to ending in ? drops the client's query", () => expect(withQuery("/b?", "?x=1")).toBe("/b"));
  test("an empty client query adds nothing", () => expect(withQuery("/i.php?p=a", "?")).toBe("/i.php?p=a"));
});

describe("rewrite", () => {
  test("no rule matches: unchanged", () => expect(rewrite(rewrites({ match: "^/a$", to: "/b" }), "/c", "h", "refuse")).toEqual({ kind: "unchanged" }));

  test("the first rule that matches wins, and the list is tried again on the result", () => {
    const rules = rewrites({ match: "^/a/(.*)$", to: "/b/$1" }, { match: "^/a/x$", to: "/never" }, { match: "^/b/(.*)$", to: "/c.php/$1" });
    expect(rewrite(rules, "/a/x?q=1", "h", "refuse")).toEqual({ kind: "rewritten", target: "/c.php/x?q=1" });
  });

  test("a rule for other hosts is passed over", () => {
    const rules = rewrites({ match: "^/$", host: ["example.com"], to: "/com" }, { match: "^/$", to: "/any" });
    expect(rewrite(rules, "/", "example.com", "refuse")).toEqual({ kind: "rewritten", target: "/com" });
    expect(rewrite(rules, "/", "example.org", "refuse")).toEqual({ kind: "rewritten", target: "/any" });
  });

  test("a rule that gives back its input ends the list: a front controller needs no exclusion", () => {
    expect(rewrite(rewrites({ match: "^/(.*)$", to: "/index.php" }), "/page?x=1", "h", "refuse")).toEqual({ kind: "rewritten", target: "/index.php?x=1" });
    expect(rewrite(rewrites({ match: "^/(.*)$", to: "/index.php" }), "/index.php", "h", "refuse")).toEqual({ kind: "unchanged" });
  });

  test(`${MAX_REWRITES} rewrites in a row are done; one more is a loop`, () => {
    // /n -> /n-1 ... each a rewrite of its own.
    const rules = rewrites(...Array.from({ length: 12 }, (_, n) => ({ match: `^/${n + 1}$`, to: `/${n}` })));
    expect(rewrite(rules, `/${MAX_REWRITES}`, "h", "refuse")).toEqual({ kind: "rewritten", target: "/0" });
    const loop = rewrite(rules, `/${MAX_REWRITES + 1}`, "h", "refuse");
    expect(loop).toMatchObject({ kind: "loop", target: "/1" });
    if (loop.kind === "loop") expect(loop.rule.index).toBe(0);
  });

  test("a rule that keeps its input inside its output is a loop", () => {
    expect(rewrite(rewrites({ match: "^/(.*)$", to: "/app/$1" }), "/x", "h", "refuse")).toMatchObject({ kind: "loop" });
  });

  test("a hostile to: /../ never climbs above /", () => {
    expect(rewrite(rewrites({ match: "^/x/(.*)$", to: "/../../etc/$1" }), "/x/passwd", "h", "refuse")).toEqual({ kind: "rewritten", target: "/etc/passwd" });
    expect(rewrite(rewrites({ match: "^/x/(.*)$", to: "/a/%2e%2e/%2E%2E/../$1" }), "/x/p", "h", "refuse")).toEqual({ kind: "rewritten", target: "/p" });
  });

  test('"/$1" with a group starting with "/" stays a path, never an authority', () => {
    expect(rewrite(rewrites({ match: "^/go(/.*)$", to: "/$1" }), "/go/evil.example/x", "h", "refuse")).toEqual({ kind: "rewritten", target: "/evil.example/x" });
  });

  test("an encoded slash follows the encoded_slashes rule", () => {
    const rules = rewrites({ match: "^/x/(.*)$", to: "/y/$1" });
    expect(rewrite(rules, "/x/a%2F..%2F..%2Fb", "h", "refuse")).toEqual({ kind: "rewritten", target: "/y/a%2F..%2F..%2Fb" });
    expect(rewrite(rules, "/x/a%2F..%2F..%2Fb", "h", "decode")).toEqual({ kind: "rewritten", target: "/b" });
    expect(rewrite(rules, "/x/a%2F..", "h", "keep")).toEqual({ kind: "rewritten", target: "/y/a%252F.." });
    // A to that writes %2F itself is held to the same rule.
    expect(rewrite(rewrites({ match: "^/z$", to: "/a/..%2F..%2Fetc" }), "/z", "h", "decode")).toEqual({ kind: "rewritten", target: "/etc" });
  });

  // Pieces of paths and of `to` templates, the hostile ones among them.
  const SEGMENTS = ["a", "b.php", "..", ".", "", "%2e%2e", "%2E.", ".%2e", "%2F", "..%2F", "%5C", "%25", "%252e", "~u", "%41"];
  const segmentPath = fc.array(fc.constantFrom(...SEGMENTS), { maxLength: 6 }).map((parts) => `/${parts.join("/")}`);
  const template = fc
    .array(fc.constantFrom("/", "$1", "$2", "..", ".", "%2e", "%2F", "x", "//"), { maxLength: 8 })
    .map((parts) => `/${parts.join("")}`);
  const slashes = fc.constantFrom<EncodedSlashes>("refuse", "decode", "keep");

  test("property: whatever the path and the to, the result is a normal path (a fixed point of normalisation)", () => {
    fc.assert(
      fc.property(segmentPath, template, slashes, (raw, to, mode) => {
        // Neither a piece nor a group spells "in": a result never matches again, so each case is one rewrite.
        const path = normalizePath(`/in${raw}`, mode);
        const result = rewrite(rewrites({ match: "^/in(/[^/]*)?(.*)$", to }), path, "h", mode);
        if (result.kind === "unchanged") return;
        expect(result.kind).toBe("rewritten");
        const out = result.target.split("?")[0]!;
        expect(out.startsWith("/")).toBe(true);
        expect(normalizePath(out, mode)).toBe(out);
        expect(out.split("/").some((s) => s === ".." || s === ".")).toBe(false);
        expect(out.slice(1)).not.toMatch(/^\//);
      }),
    );
  });
});

describe("redirect", () => {
  test("status and Location, with $N and the client's query", () => {
    const rules = redirects({ match: "^/old/(.*)$", to: "/new/$1", status: 308 });
    expect(redirect(rules, "/old/a", "?x=1", "h")).toMatchObject({ status: 308, location: "/new/a?x=1" });
    expect(redirect(rules, "/other", "", "h")).toBeUndefined();
  });

  test("301 unless a status is given", () => expect(redirect(redirects({ match: "^/", to: "/b" }), "/a", "", "h")?.status).toBe(301));

  test("an absolute URL is sent as written", () => {
    expect(redirect(redirects({ match: "^(.*)$", to: "https://example.com$1" }), "/a/b", "?q", "h")?.location).toBe("https://example.com/a/b?q");
  });

  test('a path Location never becomes "//host", a URL of another host', () => {
    expect(redirect(redirects({ match: "^/go(/.*)$", to: "/$1" }), "/go/evil.example", "", "h")?.location).toBe("/evil.example");
    expect(redirect(redirects({ match: "^/go/(.*)$", to: "/x/../..//$1" }), "/go/evil.example", "", "h")?.location).toBe("/evil.example");
  });

  test("only for its hosts", () => {
    const rules = redirects({ match: "^(.*)$", host: ["www.example.com"], to: "https://example.com$1" });
    expect(redirect(rules, "/a", "", "www.example.com")?.location).toBe("https://example.com/a");
    expect(redirect(rules, "/a", "example.com", "example.com")).toBeUndefined();
  });
});

describe("refused when the config is read, naming the key and the line", () => {
  const ROUTE = '[[routes]]\ngateway = "static"\nroot = "/srv"\n';
  const refused = (toml: string) => {
    const error = configError(`${ROUTE}${toml}`, gatewaySchemas);
    return `${error.line} ${error.key}: ${error.message.slice(error.message.indexOf(": ", error.message.indexOf(error.key!)) + 2)}`;
  };

  test("an invalid regular expression", () => {
    expect(refused('[[rewrites]]\nmatch = "^/a/(x"\nto = "/b"\n')).toMatch(/^5 rewrites\[0\]\.match: not a valid regular expression: .*/);
  });

  test("the second rule's to, not a path", () => {
    expect(refused('[[rewrites]]\nmatch = "^/a"\nto = "/b"\n[[rewrites]]\nmatch = "^/c"\nto = "d"\n')).toBe('9 rewrites[1].to: must be a path starting with "/" (a rewrite stays on this server), found "d"');
  });

  test("a # in to", () => expect(refused('[[rewrites]]\nmatch = "^/a"\nto = "/b#c"\n')).toBe('6 rewrites[0].to: "#" cannot stand in a URL; percent-encode it'));
  test("a space or a letter outside ASCII in to", () => {
    expect(refused('[[redirects]]\nmatch = "^/a"\nto = "/b c"\n')).toBe('6 redirects[0].to: " " cannot stand in a URL; percent-encode it');
    expect(refused('[[redirects]]\nmatch = "^/a"\nto = "/café"\n')).toBe('6 redirects[0].to: "é" cannot stand in a URL; percent-encode it');
  });

  test("a host that is no host pattern", () => {
    expect(refused('[[rewrites]]\nmatch = "^/a"\nto = "/b"\nhost = ["a.example", "a.*.example"]\n')).toBe('7 rewrites[0].host[1]: "a.*.example": a wildcard stands only as the first label ("*.example.org")');
  });

  test("a redirect status that names no new URL", () => {
    expect(refused('[[redirects]]\nmatch = "^/a"\nto = "/b"\nstatus = 304\n')).toBe("7 redirects[0].status: expected one of 301, 302, 303, 307, 308, found 304");
  });

  test("a redirect to //host without a scheme", () => {
    expect(refused('[[redirects]]\nmatch = "^/a"\nto = "//evil.example/"\n')).toBe('6 redirects[0].to: "//evil.example/" names another host without a scheme: write "https://evil.example/"');
  });

  test("a redirect to neither a path nor an http(s) URL", () => {
    expect(refused('[[redirects]]\nmatch = "^/a"\nto = "javascript:alert(1)"\n')).toMatch(/^6 redirects\[0\]\.to: must be a path starting with "\/" or an http\(s\) URL/);
  });

  test("a route host that is no host pattern", () => {
    expect(refused('host = "example.com:8080"\n').replace(/^\d+ /, "")).toBe('routes[0].host: "example.com:8080": not a host name (letters, digits, "-" and dots; no port)');
  });

  test("valid rules load, with their defaults", () => {
    const config = parseConfig(`${ROUTE}[[redirects]]\nmatch = "^/a"\nto = "https://example.com/"\n[[rewrites]]\nmatch = "^/b"\nto = "/c?d"\nhost = "example.com"\n`, "postern.toml", gatewaySchemas);
    expect(config.redirects).toEqual([{ match: "^/a", to: "https://example.com/", status: 301 }]);
    expect(config.rewrites).toEqual([{ match: "^/b", to: "/c?d", host: ["example.com"] }]);
  });
});
