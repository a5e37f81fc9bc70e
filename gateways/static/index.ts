// The static files gateway: maps a URL path onto a root directory and serves
// the file with validators, conditional requests and byte ranges (RFC 9110
// §8.8, §13, §14), as nginx and lighttpd do. Files are read through the
// Runtime's FileSystem only, and streamed from the descriptor that was checked.

import type { Context, Next } from "hono";
import { routePath } from "hono/route";
import { requestTarget, type ClientTarget } from "../../src/cgi/target.ts";
import { errorResponse } from "../../src/errors.ts";
import { safePath } from "../../src/paths.ts";
import type { FileStat, FileSystem, OpenedFile, Runtime } from "../../src/runtime.ts";
import { setupError } from "../../src/check/problems.ts";
import { staticRoot } from "../checks/static.ts";
import { failure, type GatewayHandler } from "../handler.ts";
import { redirectToDirectory } from "../directory-redirect.ts";
import { rootedPath } from "../rooted-path.ts";
import { SymlinkPolicy } from "../symlinks.ts";
import { VhostRoots } from "../vhost-root.ts";
import { clientTargetOf } from "../request-path.ts";
import { fileResponse } from "./file-response.ts";
import { encodedAnswer, findPrecompressed, type Precompressed } from "./precompressed.ts";
import type { ByteRange } from "./range.ts";
import type { StaticOptions } from "./options.ts";
import { ScriptGuard, sharingRoot, type ScriptFiles } from "./scripts.ts";

/** What a filesystem path is, seen from the root. */
type Found =
  | { kind: "file"; real: string; stat: FileStat }
  | { kind: "directory"; real: string }
  | { kind: "outside" }
  | { kind: "missing" };

/** A file found for a URL path, with the name it was asked by (a directory's index adds its own). */
type FileTarget = { kind: "file"; real: string; stat: FileStat; name: string };

type Target = Exclude<Found, { kind: "file" }> | FileTarget;

/** A root directory the route serves from: `root`, or a host's `vhost_root`. */
interface Root {
  realRoot: string;
  symlinks: SymlinkPolicy;
  guard: ScriptGuard;
}

/** Per-host roots kept, each with the script routes sharing its files. */
const MAX_VHOST_ROOTS = 1024;

/** A file opened to be served: the checked name and stat are those of `file`. */
type Served = FileTarget & { file: OpenedFile };

/**
 * The handler for validated options (see gateways/index.ts). `app.scripts`
 * are the script routes of the app, where it is known (createApp): the files
 * they would run under this root are never served.
 */
export function createStatic(
  runtime: Runtime,
  options: StaticOptions,
  name: string,
  app?: { scripts: readonly ScriptFiles[] },
): GatewayHandler {
  // DESIGN.md: a gateway needing a capability the runtime lacks fails at startup.
  if (!runtime.fs) throw setupError(name, ["gateway"], `static files need a filesystem, which the ${runtime.name} runtime has not`);
  const gateway = new StaticGateway(runtime, runtime.fs, options, name, app?.scripts ?? []);
  return Object.assign((c: Context, next: Next) => gateway.handle(c, next), {
    ready: gateway.ready,
    close: () => Promise.resolve(),
  });
}

class StaticGateway {
  readonly ready: Promise<void>;
  readonly #runtime: Runtime;
  readonly #fs: FileSystem;
  readonly #options: StaticOptions;
  readonly #name: string;
  readonly #cacheControl: string | undefined;
  #root!: Root;
  #scripts: readonly ScriptFiles[] = [];
  /** Per-host roots (`vhost_root`), and what each is to the static route. */
  readonly #vhosts: VhostRoots | undefined;
  readonly #vhostRoots = new Map<string, Promise<Root>>();

  constructor(runtime: Runtime, fs: FileSystem, options: StaticOptions, name: string, scripts: readonly ScriptFiles[]) {
    this.#runtime = runtime;
    this.#fs = fs;
    this.#options = options;
    this.#name = name;
    const seconds = Math.floor(options.max_age / 1000);
    this.#cacheControl = seconds > 0 ? `public, max-age=${seconds}` : undefined;
    this.#vhosts = options.vhost_root === undefined ? undefined : new VhostRoots(fs, options.vhost_root);
    this.ready = this.#init(scripts);
    this.ready.catch(() => undefined);
  }

  async #init(scripts: readonly ScriptFiles[]): Promise<void> {
    this.#scripts = scripts;
    this.#root = await this.#rootAt(await staticRoot(this.#fs, this.#options, this.#name));
  }

  /** What a real root directory is to the route: where links may lead, which files are scripts. */
  async #rootAt(realRoot: string): Promise<Root> {
    const symlinks = SymlinkPolicy.forRoute(this.#runtime, this.#options.follow_symlinks, realRoot, this.#name);
    return { realRoot, symlinks, guard: new ScriptGuard(this.#options.deny_extensions, await sharingRoot(this.#fs, realRoot, this.#scripts)) };
  }

  /** The root for `request`: its host's `vhost_root` where there is one, else `root`. */
  async #rootFor(request: Request): Promise<Root> {
    const vhost = await this.#vhosts?.rootFor(request);
    if (!vhost) return this.#root;
    let root = this.#vhostRoots.get(vhost.realRoot);
    if (!root) {
      if (this.#vhostRoots.size >= MAX_VHOST_ROOTS) this.#vhostRoots.clear();
      root = this.#rootAt(vhost.realRoot);
      this.#vhostRoots.set(vhost.realRoot, root);
    }
    return root;
  }

  async handle(c: Context, next: Next): Promise<Response | void> {
    const request = c.req.raw;
    let response: Response | null;
    try {
      await this.ready;
      response = await this.#answer(request, clientTargetOf(c.env), routePath(c));
    } catch (err) {
      return failure(this.#runtime, this.#name, err, c.env);
    }
    if (response) return response;
    if (this.#options.fallthrough) return next();
    if (request.method === "GET" || request.method === "HEAD") return errorResponse(404);
    return errorResponse(405, { headers: { allow: "GET, HEAD" } });
  }

  /**
   * The answer for a request (`client`: its target as the client sent it,
   * where the server rewrote it; `pattern`: the route's), or null when no
   * file matches it.
   */
  async #answer(request: Request, client: ClientTarget | undefined, pattern: string): Promise<Response | null> {
    if (request.method !== "GET" && request.method !== "HEAD") return null;
    const url = new URL(request.url);
    const safe = safePath(url.pathname);
    if (!safe.ok) return errorResponse(safe.status);
    const { path } = rootedPath(safe.path, pattern, this.#options.strip_prefix);
    if (!this.#options.dotfiles && isHidden(path)) return errorResponse(404);
    // The mount itself, asked without its slash: its directory.
    const root = await this.#rootFor(request);
    const target = path === "" ? ({ kind: "directory", real: root.realRoot } as const) : await this.#resolve(root, path);
    switch (target.kind) {
      case "file": {
        const precompressed = await this.#precompressed(request, root, target);
        const opened = await this.#open(root, precompressed?.file ?? target);
        if (opened === "missing") return null;
        if (opened === "moved") return errorResponse(404);
        let streaming = false;
        try {
          const response = this.#serve(request, opened, (range) => {
            streaming = true;
            return opened.file.readStream(range);
          });
          return this.#options.precompressed.length > 0 ? encodedAnswer(response, precompressed?.encoding) : response;
        } finally {
          // The stream closes the file once sent or cancelled (a client gone); any other answer closes it here.
          if (!streaming) await opened.file.close();
        }
      }
      case "directory":
        return redirectToDirectory(requestTarget(request.url, client).requestUri);
      case "outside":
        // DESIGN.md "Security defaults": a symlink that leaves the root is followed only as follow_symlinks says.
        return errorResponse(404);
      case "missing":
        return null;
    }
  }

  /**
   * The file a decoded path names: itself, or an index file of the directory
   * it names. A script (scripts.ts) is no file: the next route runs it.
   */
  async #resolve(root: Root, path: string): Promise<Target> {
    const target = await this.#lookup(root, root.realRoot, path);
    if (target.kind === "file") {
      // "/file.txt/" names no file (ENOTDIR), whatever the platform's realpath says.
      const file = { ...target, name: path };
      return path.endsWith("/") || root.guard.isScript(file) ? { kind: "missing" } : file;
    }
    if (target.kind !== "directory" || !path.endsWith("/")) return target;
    for (const index of this.#options.index) {
      const candidate = await this.#lookup(root, target.real, `/${index}`);
      if (candidate.kind === "file") {
        const file = { ...candidate, name: path + index };
        if (!root.guard.isScript(file)) return file;
      }
      if (candidate.kind === "outside") return candidate;
    }
    // No directory listings.
    return { kind: "missing" };
  }

  /** A pre-compressed file (precompressed.ts) to serve for `target`, under `target`'s name (its Content-Type). */
  async #precompressed(request: Request, root: Root, target: FileTarget): Promise<Precompressed<FileTarget> | undefined> {
    if (this.#options.precompressed.length === 0) return undefined;
    return findPrecompressed(request, this.#options.precompressed, target.real, target.stat, async (path) => {
      // A sibling of the file: its directory is the base its symlinks are judged from.
      const slash = path.lastIndexOf("/");
      const found = await this.#lookup(root, path.slice(0, slash), path.slice(slash));
      return found.kind === "file" ? { ...found, name: target.name } : undefined;
    });
  }

  /** What is at `base + path`, symlinks resolved, refused when the real path leaves the real root through a refused symlink. */
  async #lookup(root: Root, base: string, path: string): Promise<Found> {
    const real = await this.#fs.realpath(base + path);
    if (real === null) return { kind: "missing" };
    if (!(await root.symlinks.allows(base, path, real))) return { kind: "outside" };
    const stat = await this.#fs.stat(real);
    if (stat?.isFile) return { kind: "file", real, stat };
    if (stat?.isDirectory) return { kind: "directory", real };
    return { kind: "missing" };
  }

  /**
   * Opens a file #resolve found, and checks what was opened. CWE-367 (time
   * of check, time of use): whoever writes in the root can swap the name for
   * a symlink out of it between the lookup and the open, so the lookup only
   * spares opening what is no file. After the open, the name's real path must
   * still be inside the root and no script, and name (lstat: not through a
   * final symlink) the very file opened: same device and inode. (nginx's
   * `disable_symlinks` opens beneath the root with `openat(O_NOFOLLOW)`
   * instead, which the runtimes do not offer; a directory of the path swapped
   * twice within these few calls is what that would still close.) "missing":
   * nothing to open, or a script (the next route runs it); "moved": the name
   * changed under the open.
   */
  async #open(root: Root, target: FileTarget): Promise<Served | "missing" | "moved"> {
    const file = await this.#fs.openRead(target.real);
    if (!file) return "missing";
    let verdict: Served | "missing" | "moved" = "moved";
    try {
      const real = await this.#fs.realpath(target.real);
      const named = real === null || !(await root.symlinks.allows(root.realRoot, target.name, real)) ? null : await this.#fs.lstat(real);
      if (real !== null && named?.isFile && file.stat.isFile && named.dev === file.stat.dev && named.ino === file.stat.ino) {
        const served = { ...target, real, stat: file.stat, file };
        // #resolve found no script at the same real name and mode: asked again only when either changed.
        const changed = real !== target.real || file.stat.mode !== target.stat.mode;
        verdict = changed && root.guard.isScript(served) ? "missing" : served;
      }
    } finally {
      if (verdict === "missing" || verdict === "moved") await file.close();
    }
    return verdict;
  }

  /** The answer for `file`; `body` gives its bytes from the opened file, and is called only for an answer that has them. */
  #serve(request: Request, file: FileTarget, body: (range: ByteRange) => ReadableStream<Uint8Array>): Response {
    return fileResponse(request, file, { etag: this.#options.etag, cacheControl: this.#cacheControl }, body);
  }
}

/**
 * True for a path with a segment starting with "." (.git, .env, .htpasswd),
 * except the "/.well-known/" prefix, which is meant to be served (RFC 8615).
 */
function isHidden(path: string): boolean {
  return path.replace(/^\/\.well-known(?=\/|$)/, "").includes("/.");
}
