// The CGI gateway (RFC 3875): finds the script a request names under the
// route's root, starts it (directly, or through the interpreter its extension
// maps to) with the CGI meta-variables as its whole environment, and answers
// with what it prints. At most `max_procs` scripts run at once.

import type { Context, Next } from "hono";
import { routePath } from "hono/route";
import { setupError } from "../../src/check/problems.ts";
import { requestTarget } from "../../src/cgi/target.ts";
import { errorResponse } from "../../src/errors.ts";
import { FileCache } from "../../src/file-cache.ts";
import { safePath } from "../../src/paths.ts";
import type { RouteStats } from "../../src/metrics/stats.ts";
import type { Runtime } from "../../src/runtime.ts";
import { cgiSetup } from "../checks/cgi.ts";
import type { GatewayHandler, Router } from "../handler.ts";
import { redirectToDirectory } from "../directory-redirect.ts";
import { clientTargetOf } from "../request-path.ts";
import { rootedPath } from "../rooted-path.ts";
import { Sendfile } from "../sendfile.ts";
import { SymlinkPolicy } from "../symlinks.ts";
import { VhostRoots } from "../vhost-root.ts";
import { reachableByAll } from "../program.ts";
import { ScriptGateway } from "../script/gateway.ts";
import type { ScriptLauncher } from "../script/launcher.ts";
import { runningOn } from "../script/run.ts";
import { directLauncher } from "./direct.ts";
import { findScript, mountedScript, type ScriptLocation } from "./lookup.ts";
import type { CgiOptions } from "./options.ts";
import { nativeLauncher } from "./spawner/index.ts";

/** The handler for validated options (see gateways/index.ts). */
export function createCgi(runtime: Runtime, options: CgiOptions, name: string, router?: Router): GatewayHandler {
  const gateway = new CgiGateway(runtime, options, name, router);
  const sendfile = new Sendfile(runtime, options.x_sendfile, name);
  const handler = async (c: Context, next: Next) => {
    const response = await gateway.serve(c.req.raw, c.env, routePath(c));
    return response ? sendfile.answer(c.req.raw, response) : next();
  };
  return Object.assign(handler, {
    ready: gateway.ready,
    close: () => gateway.close(),
    stats: () => gateway.stats(),
  });
}

interface Setup {
  location: ScriptLocation;
  /** Per-host roots (`vhost_root`). */
  vhosts: VhostRoots | undefined;
  launcher: ScriptLauncher;
  /** Extension -> absolute path of its interpreter. */
  interpreters: Map<string, string>;
  /** The variables of the gateway's own environment that scripts get. */
  passed: Record<string, string>;
}

class CgiGateway extends ScriptGateway {
  readonly #options: CgiOptions;
  #setup!: Setup;

  constructor(runtime: Runtime, options: CgiOptions, name: string, router: Router | undefined) {
    if (!runtime.spawn || !runtime.fs) throw setupError(name, ["gateway"], `the ${runtime.name} runtime cannot run CGI scripts (no processes)`);
    super(runtime, options, name, router, options.max_procs);
    this.#options = options;
  }

  protected async setUp(): Promise<void> {
    const runtime = this.runtime;
    const o = this.#options;
    const { root, realRoot, user, interpreters, passed } = await cgiSetup(runtime, o, this.name);
    if (user && user.uid !== 0 && !(await reachableByAll(runtime.fs!, realRoot))) {
      runtime.logError(`${this.name}: root ${JSON.stringify(o.root)} may be out of reach of uid ${user.uid}, whom scripts run as: a directory on its way lacks the execute bit for others`);
    }
    const launcher = (o.spawn_helper ? await nativeLauncher(runtime, this.name, user) : null) ?? directLauncher(runtime, user);
    this.#setup = {
      vhosts: o.vhost_root === undefined ? undefined : new VhostRoots(runtime.fs!, o.vhost_root),
      location: {
        root,
        realRoot,
        symlinks: SymlinkPolicy.forRoute(runtime, o.follow_symlinks, realRoot, this.name),
        index: o.index,
        files: new FileCache(runtime.fs!),
      },
      launcher,
      interpreters,
      passed,
    };
  }

  protected async route(request: Request, env: unknown, routePath: string): Promise<Response | undefined> {
    const setup = this.#setup;
    const o = this.#options;
    const target = requestTarget(request.url, clientTargetOf(env));
    const safe = safePath(target.pathname);
    if (!safe.ok) return errorResponse(safe.status);
    // A `script` route is mounted at its prefix whatever strip_prefix says.
    const { mount, path } = rootedPath(safe.path, routePath, o.strip_prefix || o.script !== undefined);
    const location = await this.#locationFor(request);
    const script = o.script === undefined ? await findScript(path, location) : await mountedScript(o.script, path, location);
    if (script.ok && o.extensions && !o.extensions.some((ext) => script.scriptName.endsWith(ext))) return undefined;
    // No script here (no file, a directory without an index script, a file that may not run): the next route's, where it may take it.
    const passes = o.fallthrough || o.extensions !== undefined;
    if (!script.ok) {
      if (script.status === 301) return redirectToDirectory(target.requestUri);
      if ((script.status === 404 || script.noIndex) && passes) return undefined;
      return errorResponse(script.status);
    }
    const argv = this.#command(script.real, script.stat.mode);
    if (!argv) return passes ? undefined : errorResponse(403);
    const slash = script.real.lastIndexOf("/");
    return this.call(request, env, {
      target,
      scriptName: mount + script.scriptName,
      pathInfo: script.pathInfo,
      documentRoot: location.root,
      scriptFilename: script.scriptFilename,
      argv,
      // RFC 3875 §7.2 (UNIX): the current directory is the script's own.
      cwd: script.real.slice(0, slash) || "/",
      root: script.beneath,
      extraEnv: setup.passed,
      nph: script.real.startsWith("nph-", slash + 1),
      launcher: setup.launcher,
      killGraceMs: o.kill_grace,
      routePath,
    });
  }

  /** Where the request's scripts are: under its host's `vhost_root` where there is one, else `root`. */
  async #locationFor(request: Request): Promise<ScriptLocation> {
    const { location, vhosts } = this.#setup;
    const vhost = await vhosts?.rootFor(request);
    if (!vhost) return location;
    const symlinks = SymlinkPolicy.forRoute(this.runtime, this.#options.follow_symlinks, vhost.realRoot, this.name);
    return { ...location, ...vhost, symlinks };
  }

  /**
   * argv for a script: its interpreter and its path, or the path alone for an
   * executable; null when it may not run (never served as a file instead).
   * Only the path: a query string never becomes arguments (RFC 3875 §4.4
   * allows it for ISINDEX queries; CVE-2012-1823 is what it led to).
   */
  #command(real: string, mode: number): string[] | null {
    const executable = (mode & 0o111) !== 0;
    if (this.#options.executable_only && !executable) return null;
    const dot = real.lastIndexOf(".");
    const interpreter = dot > real.lastIndexOf("/") ? this.#setup.interpreters.get(real.slice(dot)) : undefined;
    if (interpreter) return [interpreter, real];
    return executable ? [real] : null;
  }

  override stats(): RouteStats {
    return { ...super.stats(), processes: this.#setup ? runningOn(this.#setup.launcher) : 0 };
  }

  protected async tearDown(): Promise<void> {
    await this.#setup?.launcher.close();
  }
}
