// The postern command line (DESIGN.md, "CLI"): which command runs, and the
// exit status its failure gives. Each command's code is imported only when it
// runs, so that `postern --version` and `postern --help` load nothing else.

import { readFileSync } from "node:fs";
import { parseFlags, UsageError } from "./args.ts";
import { COMMANDS } from "./commands.ts";
import { COMMAND_USAGE, USAGE } from "./usage.ts";

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(`${USAGE}\n`);
      return 0;
    case "--version":
    case "-v":
    case "version":
      process.stdout.write(`postern ${version()}\n`);
      return 0;
    case "check": {
      const { help } = await parseFlags(rest, { config: { names: ["--config", "-c"] } });
      if (help) {
        process.stdout.write(`${COMMAND_USAGE.check}\n`);
        return 0;
      }
      const { checkCommand } = await import("./check.ts");
      return checkCommand(rest);
    }
    // nginx's `-t` and `-c FILE` come without a command: the one postern needs is named.
    case "-t":
      throw new UsageError("a config is checked by postern check (-c FILE names it)");
    default: {
      const run = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
      if (run) return run(rest);
      const { suggest } = await import("../src/config-schema.ts");
      if (command.startsWith("-")) {
        const hint = suggest(command, ["--help", "--version"]);
        throw new UsageError(hint ? `unknown option ${command}${hint}` : `options come after a command: postern serve ${argv.join(" ")}`);
      }
      throw new UsageError(`unknown command ${JSON.stringify(command)}${suggest(command, [...Object.keys(COMMANDS), "check"])}`);
    }
  }
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

/**
 * The exit status of a failure, with nginx's and Gunicorn's meanings: 2 for
 * a command line or config that cannot work (a setup error, found before
 * postern listens, is one), 1 for a failure at run time (an address in use),
 * 3 for a wsgi app that cannot be imported (Gunicorn's WORKER_BOOT_ERROR).
 */
function report(err: unknown, command: string | undefined): number {
  const message = err instanceof Error ? err.message : String(err);
  const name = err instanceof Error ? err.name : "";
  if (name === "UsageError") {
    const known = command !== undefined && (Object.hasOwn(COMMANDS, command) || command === "check");
    process.stderr.write(`postern: ${message}\n(${known ? `postern ${command} --help lists its options` : "postern --help lists the commands"})\n`);
    return 2;
  }
  if (name === "WsgiUsageError") {
    process.stderr.write(`postern wsgi: ${message}\n(postern wsgi --help lists its options)\n`);
    return 2;
  }
  process.stderr.write(`postern: ${message}\n`);
  // The Python error that stopped the wsgi app is on stderr already, from its workers.
  if (name === "BootError") return 3;
  if (name === "RuntimeFailure") return 1;
  return 2;
}

const argv = process.argv.slice(2);
main(argv).then(
  (code) => {
    process.exitCode = code;
    setImmediate(() => process.exit(code));
  },
  (err: unknown) => process.exit(report(err, argv[0])),
);
