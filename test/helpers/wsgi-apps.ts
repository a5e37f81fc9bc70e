// postern hosting the WSGI apps of test/fixtures/wsgi-apps: the `wsgi` routes
// (docs/gateways/wsgi.md) that mount them, run by Debian's /usr/bin/python3,
// and postern serving them, on a runtime's CLI or in the test's process. Tests and the
// benchmark build their routes here, so an app is mounted one way everywhere;
// the README's recipes are served as written, with the fixtures' paths.

import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./ports.ts";
import { spawnPostern, type CliRuntime } from "./postern-cli.ts";
import { startPostern, type RunningPostern } from "./postern.ts";
import { WSGI_APPS } from "./python-servers.ts";
import { readmeBlock, substitute } from "./readme.ts";
import { stopProcessGroup, waitForPort } from "./server-process.ts";
import { PYTHON } from "./wsgi.ts";

export interface WsgiMount {
  /** The route path: "/py/*" mounts the app at SCRIPT_NAME "/py". */
  path: string;
  /** MODULE:ATTR in test/fixtures/wsgi-apps. */
  app: string;
  workers?: number;
  threads?: number;
}

/** The postern.toml `[[routes]]` tables of `mounts`. */
export function wsgiRoutes(mounts: WsgiMount[]): string {
  return mounts
    .map((m) =>
      [
        "[[routes]]",
        `path = ${JSON.stringify(m.path)}`,
        'gateway = "wsgi"',
        `app = ${JSON.stringify(m.app)}`,
        `chdir = ${JSON.stringify(WSGI_APPS)}`,
        `python = ${JSON.stringify(PYTHON)}`,
        ...(m.workers === undefined ? [] : [`workers = ${m.workers}`]),
        ...(m.threads === undefined ? [] : [`threads = ${m.threads}`]),
        "",
      ].join("\n"),
    )
    .join("\n");
}

export interface PosternCli {
  port: number;
  /** What postern wrote to stderr so far (its log, the workers' stderr included). */
  log(): string;
  stop(): Promise<void>;
}

/**
 * `postern serve` on `runtime`'s CLI, in its own process group, serving
 * `mounts` on a free loopback port; `top` is top-level TOML put before the
 * routes (trusted_proxies).
 */
export async function startWsgiPosternCli(runtime: CliRuntime, mounts: WsgiMount[], top = ""): Promise<PosternCli> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "postern-wsgi-apps-"));
  const config = join(dir, "postern.toml");
  writeFileSync(config, `listen = ["127.0.0.1:${port}"]\naccess_log = false\n${top}\n${wsgiRoutes(mounts)}`);
  const { proc, log } = spawnPostern(runtime, ["serve", "--config", config]);
  const stop = async () => {
    await stopProcessGroup(proc, "SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForPort(proc, port, `postern on ${runtime}`, log, 30_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return { port, log, stop };
}

/**
 * postern serving the README's TOML block that contains `marker`, without
 * its `listen` line (startPostern listens on a free port), with each key of
 * `replacements` put in place (the recipes' /srv paths and virtualenvs).
 */
export function startReadmeRecipe(marker: string, replacements: Record<string, string>): Promise<RunningPostern> {
  return startPostern(substitute(readmeBlock("toml", marker).replace(/^listen = .*\n/m, ""), replacements));
}

/**
 * True when Debian's python3 imports `module`; otherwise false with a printed
 * reason, or an error under CI (as requireBinary does for a missing binary).
 */
export function requirePythonModule(module: string, debianPackage: string): boolean {
  if (spawnSync(PYTHON, ["-c", `import ${module}`]).status === 0) return true;
  const message = `${PYTHON} cannot import ${module}: install it with \`apt-get install -y ${debianPackage}\``;
  if (process.env.CI) throw new Error(message);
  console.warn(`skipping: ${message}`);
  return false;
}
