// N processes postern starts and keeps running, each listening on its own
// private unix socket (lighttpd's `bin-path` with `max-procs`; Gunicorn's
// workers): the sockets live in a fresh directory owned by the user the
// processes run as (src/accounts.ts), so that they can create their sockets
// there while nobody else can reach them. A process counts as serving once
// its socket accepts a connection; src/supervisor/process.ts restarts one
// that exits.

import type { Address } from "../address.ts";
import { reachableByAll } from "../reachable.ts";
import type { ProcessUser, Runtime } from "../runtime.ts";
import { ManagedProcess } from "./process.ts";

export interface SocketGroupSpec {
  /** For the log: whose processes these are (a route's name). */
  name: string;
  /** What one process is, for the log: "backend 0 (php-cgi)". */
  label(index: number): string;
  /** The temporary directory's name prefix. */
  dirPrefix: string;
  /** The command line of the process listening on `socket`. */
  command(socket: string): string[];
  count: number;
  env: Record<string, string>;
  cwd?: string;
  /** Who the processes run as; postern's own user when undefined. */
  user: ProcessUser | undefined;
}

export interface SocketGroup {
  addresses: Address[];
  /** Wires each process's up/down to the pool of its socket, and starts them. */
  attach(setAvailable: (index: number, available: boolean) => void): void;
  stop(): Promise<void>;
}

const READY_POLL_MS = 20;
const READY_GIVE_UP_MS = 30_000;

export async function startSocketGroup(runtime: Runtime, spec: SocketGroupSpec): Promise<SocketGroup> {
  if (!runtime.spawn || !runtime.fs) {
    throw new Error(`${spec.name}: starting processes needs a runtime that can; ${runtime.name} cannot`);
  }
  const fs = runtime.fs;
  const user = spec.user;
  const dir = await fs.makeTempDir(spec.dirPrefix, user);
  if (user && user.uid !== 0 && !(await reachableByAll(fs, dir.slice(0, dir.lastIndexOf("/")) || "/"))) {
    runtime.logError(`${spec.name}: the temporary directory holding the backends' sockets (${dir}) may be out of reach of uid ${user.uid}, whom they run as (TMPDIR)`);
  }
  const addresses: Address[] = [];
  const processes: ManagedProcess[] = [];
  let setAvailable: (index: number, available: boolean) => void = () => undefined;
  for (let i = 0; i < spec.count; i++) {
    const address: Address = { kind: "unix", path: `${dir}/backend-${i}.sock` };
    addresses.push(address);
    processes.push(
      new ManagedProcess(runtime, {
        name: `${spec.name} ${spec.label(i)}`,
        cmd: spec.command(address.path),
        env: spec.env,
        cwd: spec.cwd,
        user,
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
