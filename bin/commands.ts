// postern's commands: the flags each takes, read before anything else is
// loaded (so that `postern cgi --help` or a mistyped flag is answered at
// once), and its code, imported only when it runs.

import { parseFlags, type FlagSpec, type Parsed } from "./args.ts";
import { COMMAND_USAGE } from "./usage.ts";

/** The flags of every command that serves (bin/server-settings.ts). */
export const SERVER_FLAGS = {
  listen: { names: ["--listen", "--bind", "-b"], multiple: true },
  "graceful-timeout": { names: ["--graceful-timeout"] },
  pid: { names: ["--pid"] },
  "access-log": { names: ["--access-log"] },
  "error-log": { names: ["--error-log"] },
} as const satisfies FlagSpec;

export const SERVE_FLAGS = { ...SERVER_FLAGS, config: { names: ["--config", "-c"] } } as const satisfies FlagSpec;

export const FASTCGI_FLAGS = {
  ...SERVER_FLAGS,
  backend: { names: ["--backend"], multiple: true },
  root: { names: ["--root"] },
  index: { names: ["--index"], multiple: true },
  "front-controller": { names: ["--front-controller"] },
} as const satisfies FlagSpec;

export const CGI_FLAGS = {
  ...SERVER_FLAGS,
  index: { names: ["--index"], multiple: true },
  "run-all": { names: ["--run-all"], switch: true },
  env: { names: ["--env", "-e"], multiple: true },
} as const satisfies FlagSpec;

export type ServerFlags = Pick<Parsed<typeof SERVER_FLAGS>, "values" | "typed">;

type Run = (argv: string[]) => Promise<number>;

/** A command whose flags are read here; `load` brings its code. */
function command<S extends FlagSpec>(name: string, flags: S, load: () => Promise<(args: Parsed<S>) => Promise<number>>): Run {
  return async (argv) => {
    const parsed = await parseFlags(argv, flags);
    if (parsed.help) return usage(name);
    return (await load())(parsed);
  };
}

function usage(name: string): number {
  process.stdout.write(`${COMMAND_USAGE[name]}\n`);
  return 0;
}

export const COMMANDS: Record<string, Run> = {
  serve: command("serve", SERVE_FLAGS, async () => (await import("./file-commands.ts")).serveCommand),
  wagi: command("wagi", SERVER_FLAGS, async () => (await import("./file-commands.ts")).wagiCommand),
  fastcgi: command("fastcgi", FASTCGI_FLAGS, async () => (await import("./quick-commands.ts")).fastcgiCommand),
  cgi: command("cgi", CGI_FLAGS, async () => (await import("./quick-commands.ts")).cgiCommand),
  wasi: command("wasi", SERVER_FLAGS, async () => (await import("./quick-commands.ts")).wasiCommand),
  // Gunicorn's flags, read by gateways/wsgi/cli.ts (argparse's rules).
  wsgi: ownFlags("wsgi", async () => (await import("./wsgi-command.ts")).wsgiCommand),
};

/** A command that reads its own flags; only --help is answered before its code is loaded. */
function ownFlags(name: string, load: () => Promise<Run>): Run {
  return async (argv) => {
    const options = argv.slice(0, argv.includes("--") ? argv.indexOf("--") : argv.length);
    if (options.includes("-h") || options.includes("--help")) return usage(name);
    return (await load())(argv);
  };
}
