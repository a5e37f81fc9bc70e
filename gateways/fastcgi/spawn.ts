// FastCGI backends that postern starts itself (`spawn = { command, procs }`):
// each process listens on its own private unix socket, as lighttpd's
// `bin-path` with `max-procs` does, so each is a pool of capacity one and a
// restarting process only makes requests wait. PHP's `php-cgi -b SOCKET` is
// the model: `{socket}` in the command is replaced by the socket path, and a
// command without it gets `-b SOCKET` appended. The processes run as the
// route's user (src/accounts.ts; nobody when postern is root and names no
// one), in a socket directory that user owns, so that they can create their
// sockets there while nobody else can reach them.

import type { Address } from "../../src/address.ts";
import type { ProcessUser, Runtime } from "../../src/runtime.ts";
import { findProgram, reachableByAll } from "../program.ts";
import { ManagedProcess } from "../../src/supervisor.ts";

export interface SpawnConfig {
  command: string[];
  procs: number;
  env: Record<string, string>;
  /** Who the processes run as; postern's own user when undefined. */
  user: ProcessUser | undefined;
}

export interface SpawnedBackends {
  addresses: Address[];
  /** Wires each process's up/down to the pool of its socket. */
  attach(setAvailable: (index: number, available: boolean) => void): void;
  stop(): Promise<void>;
}

const READY_POLL_MS = 20;
const READY_GIVE_UP_MS = 30_000;

export async function spawnBackends(runtime: Runtime, config: SpawnConfig, routeName: string): Promise<SpawnedBackends> {
  if (!runtime.spawn || !runtime.fs) {
    throw new Error(`${routeName}: spawn needs a runtime that can start processes; ${runtime.name} cannot`);
  }
  const fs = runtime.fs;
  const program = await findProgram(runtime, config.command[0]!, config.env.PATH, config.user);
  if (!program) throw new Error(`${routeName}: spawn.command: ${JSON.stringify(config.command[0])} not found`);
  const dir = await fs.makeTempDir("postern-fcgi-", config.user);
  const user = config.user;
  if (user && user.uid !== 0 && !(await reachableByAll(fs, dir.slice(0, dir.lastIndexOf("/")) || "/"))) {
    runtime.logError(`${routeName}: the temporary directory holding the backends' sockets (${dir}) may be out of reach of uid ${user.uid}, whom they run as (TMPDIR)`);
  }
  const addresses: Address[] = [];
  const processes: ManagedProcess[] = [];
  let setAvailable: (index: number, available: boolean) => void = () => undefined;
  for (let i = 0; i < config.procs; i++) {
    const socket = `${dir}/backend-${i}.sock`;
    const address: Address = { kind: "unix", path: socket };
    addresses.push(address);
    processes.push(
      new ManagedProcess(runtime, {
        name: `${routeName} backend ${i} (${config.command[0]})`,
        cmd: commandFor([program, ...config.command.slice(1)], socket),
        env: config.env,
        user: config.user,
        ready: (alive) => waitConnectable(runtime, address, alive),
        onUp: () => setAvailable(i, true),
        onDown: () => setAvailable(i, false),
      }),
    );
  }
  return {
    addresses,
    attach(hook) {
      setAvailable = hook;
      processes.forEach((p, i) => {
        hook(i, false);
        p.start();
      });
    },
    async stop() {
      await Promise.all(processes.map((p) => p.stop()));
      await fs.removeDir(dir);
    },
  };
}

/** The program's path: as given when it has a "/", else the first match on PATH (as execvp). */
function commandFor(command: string[], socket: string): string[] {
  if (command.some((arg) => arg.includes("{socket}"))) return command.map((arg) => arg.replaceAll("{socket}", socket));
  return [...command, "-b", socket];
}

async function waitConnectable(runtime: Runtime, address: Address, alive: () => boolean): Promise<boolean> {
  const deadline = Date.now() + READY_GIVE_UP_MS;
  while (Date.now() < deadline && alive()) {
    try {
      (await runtime.connect(address)).close();
      return true;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS));
    }
  }
  return false;
}
