// RFC 3875 script lookup (gateways/cgi/lookup.ts) on a real directory tree:
// SCRIPT_NAME/PATH_INFO splits, index scripts, and the refusals that keep
// hidden, aliased and out-of-root files from running.

import { mkdirSync, mkdtempSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findScript, type ScriptLocation, type ScriptLookup } from "../gateways/cgi/lookup.ts";
import { SymlinkPolicy } from "../gateways/symlinks.ts";
import { FileCache, type FileFacts } from "../src/file-cache.ts";
import { isInside } from "../src/paths.ts";
import type { FileSystem } from "../src/runtime.ts";
import { fs } from "../runtimes/node/fs.ts";

const INDEX = ["index.cgi", "index.pl"];

let dir: string;
let root: string;
let realRoot: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "postern-cgi-lookup-"));
  root = join(dir, "www");
  const files = [
    "index.cgi",
    "app.pl",
    "a.cgi",
    "cgi-bin/test.cgi",
    "cgi-bin/deep/er/x.cgi",
    "both/index.cgi",
    "both/index.pl",
    "second/index.pl",
    "dir-index/index.cgi/inner.txt",
    "dir-index/index.pl",
    "noindex/readme.txt",
    "trail.",
    "trail ",
    "cgi-bin./test.cgi",
    ".hidden.cgi",
    ".git/hook.cgi",
  ];
  for (const name of files) {
    mkdirSync(join(root, name, ".."), { recursive: true });
    writeFileSync(join(root, name), "#!/bin/sh\n");
  }
  writeFileSync(join(dir, "outside.cgi"), "#!/bin/sh\n");
  mkdirSync(join(dir, "outside-dir"));
  writeFileSync(join(dir, "outside-dir", "x.cgi"), "#!/bin/sh\n");
  writeFileSync(join(dir, "outside-dir", "index.cgi"), "#!/bin/sh\n");
  symlinkSync(join(dir, "outside.cgi"), join(root, "leak.cgi"));
  symlinkSync(join(dir, "outside-dir"), join(root, "leakdir"));
  mkdirSync(join(root, "outidx"));
  symlinkSync(join(dir, "outside.cgi"), join(root, "outidx", "index.cgi"));
  symlinkSync("cgi-bin/test.cgi", join(root, "alias.cgi"));
  symlinkSync("cgi-bin", join(root, "bin"));
  symlinkSync("www", join(dir, "www-link"));
  realRoot = realpathSync(root);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function location(overrides: Partial<ScriptLocation> = {}): ScriptLocation {
  return { root, realRoot, symlinks: new SymlinkPolicy(fs, "never", realRoot, () => undefined), index: INDEX, files: new FileCache(fs), ...overrides };
}

/** The found script's SCRIPT_NAME and PATH_INFO, or the status of a refusal. */
function split(result: ScriptLookup): [string, string] | number {
  return result.ok ? [result.scriptName, result.pathInfo] : result.status;
}

async function lookup(path: string): Promise<[string, string] | number> {
  return split(await findScript(path, location()));
}

describe("scripts", () => {
  it("finds a plain script, with its file name and real path", async () => {
    const result = await findScript("/app.pl", location());
    expect(result).toMatchObject({
      ok: true,
      scriptName: "/app.pl",
      pathInfo: "",
      scriptFilename: join(root, "app.pl"),
      real: join(realRoot, "app.pl"),
      stat: { isFile: true },
    });
  });

  it.each([
    ["/cgi-bin/test.cgi", "/cgi-bin/test.cgi", ""],
    ["/cgi-bin/deep/er/x.cgi", "/cgi-bin/deep/er/x.cgi", ""],
    ["/cgi-bin/test.cgi/a", "/cgi-bin/test.cgi", "/a"],
    ["/cgi-bin/test.cgi/a/b/c", "/cgi-bin/test.cgi", "/a/b/c"],
    ["/cgi-bin/deep/er/x.cgi/a/b", "/cgi-bin/deep/er/x.cgi", "/a/b"],
    ["/app.pl/", "/app.pl", "/"],
    ["/app.pl/a/b/", "/app.pl", "/a/b/"],
    ["/app.pl//a", "/app.pl", "//a"],
    // A file in the middle ends the walk, whatever the rest looks like.
    ["/a.cgi/b/c", "/a.cgi", "/b/c"],
    ["/a.cgi/index.cgi", "/a.cgi", "/index.cgi"],
    // An empty segment names the same directory; the names stay as asked.
    ["/cgi-bin//test.cgi/x", "/cgi-bin//test.cgi", "/x"],
  ])("%s runs %s with PATH_INFO %j", async (path, scriptName, pathInfo) => {
    const result = await findScript(path, location());
    expect(split(result)).toEqual([scriptName, pathInfo]);
    expect(result.ok && result.scriptFilename).toBe(root + scriptName);
  });

  it.each(["/nope.cgi", "/cgi-bin/nope.cgi", "/cgi-bin/nope.cgi/info", "/nope/x/y", "/nope/"])("%s is missing: 404", async (path) => {
    expect(await lookup(path)).toBe(404);
  });

  it("gives PATH_INFO \"/\" where realpath accepts a file name with a trailing slash", async () => {
    const lenient: FileSystem = { ...fs, realpath: (path) => fs.realpath(path.replace(/\/+$/, "")) };
    expect(split(await findScript("/app.pl/", location({ files: new FileCache(lenient) })))).toEqual(["/app.pl", "/"]);
  });

  it("refuses a relative path", async () => {
    expect(await lookup("app.pl")).toBe(404);
  });
});

describe("directories", () => {
  it.each([
    ["/", "/index.cgi"],
    ["/both/", "/both/index.cgi"],
    ["/second/", "/second/index.pl"],
    // An index name that is a directory is no script: the next one is tried.
    ["/dir-index/", "/dir-index/index.pl"],
  ])("%j runs its index %s", async (path, scriptName) => {
    const result = await findScript(path, location());
    expect(split(result)).toEqual([scriptName, ""]);
    expect(result.ok && result.scriptFilename).toBe(root + scriptName);
  });

  it.each(["/noindex/", "/cgi-bin/", "/cgi-bin/deep/er/"])("%s without an index is 403", async (path) => {
    expect(await lookup(path)).toBe(403);
  });

  // lighttpd's and nginx's answer: the index's relative links (gitweb's static/gitweb.css) then resolve inside it.
  it.each(["/both", "/noindex", "/cgi-bin/deep/er", ""])("%j, a directory without its trailing slash, is a 301 to it", async (path) => {
    expect(await lookup(path)).toBe(301);
  });

  it("is 403 for every directory when no index is configured", async () => {
    expect(split(await findScript("/both/", location({ index: [] })))).toBe(403);
  });
});

describe("refused names", () => {
  it.each(["/trail.", "/trail ", "/app.pl.", "/app.pl ", "/cgi-bin./test.cgi", "/cgi-bin /test.cgi"])(
    "%j (trailing dot or space) is 404, even when such a file exists",
    async (path) => {
      expect(await lookup(path)).toBe(404);
    },
  );

  it.each(["/.hidden.cgi", "/.git/hook.cgi", "/.git/", "/cgi-bin/.x", "/app.pl/.x", "/app.pl/a./b"])(
    "%s (hidden, or refused in PATH_INFO) is 404",
    async (path) => {
      expect(await lookup(path)).toBe(404);
    },
  );
});

describe("symlinks", () => {
  it.each([
    "/leak.cgi",
    "/leak.cgi/info",
    "/leakdir/x.cgi",
    "/leakdir/x.cgi/info",
    // Nothing behind a link out of the root is looked up: no probing with 403 against 404.
    "/leakdir/missing.cgi",
    "/leakdir/",
    "/leakdir",
    "/outidx/",
  ])("%s leaves the root: 403", async (path) => {
    expect(await lookup(path)).toBe(403);
  });

  it("runs a symlink inside the root under its URL name", async () => {
    const result = await findScript("/alias.cgi/x", location());
    expect(result).toMatchObject({
      ok: true,
      scriptName: "/alias.cgi",
      pathInfo: "/x",
      scriptFilename: join(root, "alias.cgi"),
      real: join(realRoot, "cgi-bin", "test.cgi"),
    });
  });

  it("walks a symlinked directory inside the root", async () => {
    const result = await findScript("/bin/test.cgi/a/b", location());
    expect(result).toMatchObject({
      ok: true,
      scriptName: "/bin/test.cgi",
      pathInfo: "/a/b",
      scriptFilename: join(root, "bin", "test.cgi"),
      real: join(realRoot, "cgi-bin", "test.cgi"),
    });
  });
});

describe("the root as configured", () => {
  it("ignores a trailing slash", async () => {
    const result = await findScript("/cgi-bin/test.cgi/x", location({ root: `${root}/` }));
    expect(result).toMatchObject({ ok: true, scriptName: "/cgi-bin/test.cgi", scriptFilename: join(root, "cgi-bin", "test.cgi") });
  });

  it("keeps a symlinked root in SCRIPT_FILENAME, and its target as the real path", async () => {
    const linked = join(dir, "www-link");
    const result = await findScript("/app.pl/x", location({ root: linked }));
    expect(result).toMatchObject({
      ok: true,
      scriptName: "/app.pl",
      pathInfo: "/x",
      scriptFilename: join(linked, "app.pl"),
      real: join(realRoot, "app.pl"),
    });
    expect(split(await findScript("/", location({ root: linked })))).toEqual(["/index.cgi", ""]);
    expect(split(await findScript("/leak.cgi", location({ root: linked })))).toBe(403);
  });
});

describe("lookups", () => {
  /** A FileCache that records the paths asked for. */
  class RecordingCache extends FileCache {
    readonly asked: string[] = [];
    override lookup(path: string): Promise<FileFacts | null> {
      this.asked.push(path.slice(root.length));
      return super.lookup(path);
    }
  }

  it.each([
    ["/cgi-bin/deep/er/x.cgi", ["/cgi-bin/deep/er/x.cgi"]],
    ["/both/", ["/both/", "/both/index.cgi"]],
    ["/cgi-bin/test.cgi/a/b/c", ["/cgi-bin/test.cgi/a/b/c", "/cgi-bin", "/cgi-bin/test.cgi"]],
    ["/nope/x/y", ["/nope/x/y", "/nope"]],
    ["/.git/hook.cgi", []],
  ])("%s looks up %j", async (path, asked) => {
    const files = new RecordingCache(fs);
    await findScript(path, location({ files }));
    expect(files.asked).toEqual(asked);
  });
});

describe("properties", () => {
  const segment = fc.oneof(
    fc.constantFrom("cgi-bin", "deep", "er", "x.cgi", "test.cgi", "app.pl", "a.cgi", "both", "bin", "alias.cgi", "leakdir", "index.cgi", ""),
    fc.stringMatching(/^[a-z. ]{1,4}$/),
  );
  const path = fc.array(segment, { maxLength: 6 }).map((segments) => `/${segments.join("/")}`);

  it("splits a path into a regular file inside the root and the rest of the path", async () => {
    const files = new FileCache(fs);
    await fc.assert(
      fc.asyncProperty(path, async (p) => {
        const result = await findScript(p, location({ files }));
        if (!result.ok) return;
        expect(result.stat.isFile).toBe(true);
        expect(isInside(realRoot, result.real)).toBe(true);
        expect(result.scriptFilename).toBe(root + result.scriptName);
        expect(result.pathInfo === "" || result.pathInfo.startsWith("/")).toBe(true);
        if (result.scriptName + result.pathInfo !== p) {
          // Only a directory's index adds to the path.
          const dirPath = p.endsWith("/") ? p : `${p}/`;
          expect(INDEX.map((name) => dirPath + name)).toContain(result.scriptName);
          expect(result.pathInfo).toBe("");
        }
        // The first file wins: every shorter prefix is a directory.
        for (let end = result.scriptName.indexOf("/", 1); end !== -1; end = result.scriptName.indexOf("/", end + 1)) {
          expect(statSync(root + result.scriptName.slice(0, end)).isDirectory()).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });
});
