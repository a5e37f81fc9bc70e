// A real php-fpm (Debian php-fpm 8.2) started by a test with its own pool
// config: one pool on a private unix socket, one on a loopback TCP port, each
// pm=static with a fixed number of children. It can be crashed and started
// again on the same socket and port.

import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "node:net";
import { freePort } from "./ports.ts";

export interface PhpFpm {
  socket: string;
  port: number;
  dir: string;
  /** PIDs of the worker children of the running master. */
  children(): number[];
  /** Kills the master and its children at once (SIGKILL, as a crash or an OOM kill) and removes the unix socket. */
  crash(): Promise<void>;
  /** Starts it again after crash(), on the same socket and port. */
  restart(): Promise<void>;
  /** The requests ("GET /hello.php", "GET /sleep.php?ms=5") its pools logged so far (access.log). */
  served(): string[];
  stop(): Promise<void>;
}

export interface PhpFpmOptions {
  children?: number;
  /** php.ini settings (-d). */
  ini?: Record<string, string>;
  /** Lines added to each pool, e.g. "ping.path = /ping". */
  pool?: string[];
}

export async function startPhpFpm(binary: string, options: PhpFpmOptions = {}): Promise<PhpFpm> {
  const dir = mkdtempSync(join(tmpdir(), "postern-fpm-"));
  const socket = join(dir, "fpm.sock");
  const port = await freePort();
  const children = options.children ?? 2;
  const pool = (name: string, listen: string) => `[${name}]
user = root
group = root
listen = ${listen}
pm = static
pm.max_children = ${children}
clear_env = yes
catch_workers_output = yes
decorate_workers_output = no
access.log = ${join(dir, "access.log")}
access.format = "%m %r%Q%q"
${(options.pool ?? []).join("\n")}
`;
  writeFileSync(
    join(dir, "fpm.conf"),
    `[global]\nerror_log = ${join(dir, "fpm.log")}\ndaemonize = no\npid = ${join(dir, "fpm.pid")}\n` +
      pool("unix", socket) +
      pool("tcp", `127.0.0.1:${port}`),
  );
  const ini = Object.entries({ display_errors: "0", ...options.ini }).flatMap(([k, v]) => ["-d", `${k}=${v}`]);
  let proc: ChildProcess;
  const launch = async () => {
    proc = spawn(binary, ["-R", "-F", "-y", join(dir, "fpm.conf"), ...ini], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    proc.stderr!.on("data", (d) => (stderr += d));
    await waitReady(proc, socket, port, () => stderr + safeRead(join(dir, "fpm.log")));
  };
  await launch();
  return {
    socket,
    port,
    dir,
    children: () => childrenOf(proc.pid!),
    crash: async () => {
      const pids = [proc.pid!, ...childrenOf(proc.pid!)];
      for (const pid of pids) process.kill(pid, "SIGKILL");
      // Gone, or a zombie: either way its sockets are closed.
      while (pids.some((pid) => !/^State:\s+[ZX]/m.test(safeRead(`/proc/${pid}/status`) || "State: X"))) {
        await new Promise((r) => setTimeout(r, 10));
      }
      rmSync(socket, { force: true });
    },
    restart: launch,
    served: () => safeRead(join(dir, "access.log")).split("\n").filter(Boolean),
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        const exited = new Promise((r) => proc.once("exit", r));
        proc.kill("SIGTERM");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitReady(proc: ChildProcess, socket: string, port: number, log: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`php-fpm exited: ${log()}`);
    if ((await canConnect({ path: socket })) && (await canConnect({ port, host: "127.0.0.1" }))) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  proc.kill("SIGKILL");
  throw new Error(`php-fpm did not start: ${log()}`);
}

function canConnect(target: { path: string } | { port: number; host: string }): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(target as never);
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

function childrenOf(pid: number): number[] {
  const text = safeRead(`/proc/${pid}/task/${pid}/children`);
  return text.split(/\s+/).filter(Boolean).map(Number);
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}
