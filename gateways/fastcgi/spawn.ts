// FastCGI backends that postern starts itself (`spawn = { command, procs }`):
// each process listens on its own private unix socket, as lighttpd's
// `bin-path` with `max-procs` does, so each is a pool of capacity one and a
// restarting process only makes requests wait (src/supervisor.ts). PHP's
// `php-cgi -b SOCKET` is the model: `{socket}` in the command is replaced by
// the socket path, and a command without it gets `-b SOCKET` appended. The
// processes run as the route's user (src/accounts.ts; nobody when postern is
// root and names no one).

import type { ProcessUser, Runtime } from "../../src/runtime.ts";
import { WorkerGroup, type Seat } from "../../src/supervisor.ts";

export interface SpawnConfig {
  command: string[];
  /** The absolute path of command[0], found (gateways/checks/fastcgi.ts). */
  program: string;
  procs: number;
  env: Record<string, string>;
  /** Who the processes run as; postern's own user when undefined. */
  user: ProcessUser | undefined;
}

export async function spawnBackends<S extends Seat>(runtime: Runtime, config: SpawnConfig, routeName: string): Promise<WorkerGroup<S>> {
  return WorkerGroup.create<S>(runtime, {
    name: routeName,
    label: "backend",
    program: config.command[0]!,
    dirPrefix: "postern-fcgi-",
    command: (socket) => commandFor([config.program, ...config.command.slice(1)], socket),
    count: config.procs,
    env: config.env,
    user: config.user,
  });
}

/** The command line with its socket: "{socket}" replaced, else `-b SOCKET` appended (php-cgi's flag). */
function commandFor(command: string[], socket: string): string[] {
  if (command.some((arg) => arg.includes("{socket}"))) return command.map((arg) => arg.replaceAll("{socket}", socket));
  return [...command, "-b", socket];
}
