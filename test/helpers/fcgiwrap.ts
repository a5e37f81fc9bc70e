// A real fcgiwrap (Debian fcgiwrap 1.1) started by a test or a benchmark: the
// FastCGI-to-CGI wrapper nginx needs to run CGI programs, on a private unix
// socket, with a fixed number of preforked workers (fcgiwrap(8): -s, -c).
// Each worker serves one request at a time: it forks and execs the program
// named by SCRIPT_FILENAME and relays its output.

import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findBinary } from "./binaries.ts";
import { stopProcessGroup } from "./server-process.ts";

const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;

export interface FcgiwrapOptions {
  /** `-c`: preforked workers, each running one CGI request at a time. Default 2. */
  workers?: number;
  /** The fcgiwrap binary. Default: found in the usual sbin/bin directories. */
  binary?: string;
}

export interface Fcgiwrap {
  /** The unix socket it accepts FastCGI connections on. */
  socket: string;
  /** The private directory holding the socket. Removed by stop(). */
  dir: string;
  /** PIDs of the process group: the prefork parent, its workers and the CGI programs running now. */
  pids(): number[];
  /** What fcgiwrap wrote to stderr so far; the programs' stderr goes to the web server's error log (-f). */
  errorLog(): string;
  stop(): Promise<void>;
}

export async function startFcgiwrap(options: FcgiwrapOptions = {}): Promise<Fcgiwrap> {
  const binary = options.binary ?? findBinary(["fcgiwrap"]);
  if (!binary) throw new Error("fcgiwrap not found: install it with `apt-get install -y fcgiwrap`");
  const dir = mkdtempSync(join(tmpdir(), "postern-fcgiwrap-"));
  const socket = join(dir, "fcgiwrap.sock");
  // Programs inherit fcgiwrap's environment: only PATH, so that they see what
  // a CGI gateway passes (postern's pass_env default) and nothing of the test's.
  // -f: a program's stderr goes over FastCGI, into the web server's error log next to the request.
  const proc = spawn(binary, ["-f", "-s", `unix:${socket}`, "-c", String(options.workers ?? 2)], {
    stdio: ["ignore", "ignore", "pipe"],
    detached: true, // its own process group: the workers and programs are stopped with it
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
  });
  let stderr = "";
  proc.stderr!.on("data", (d) => (stderr += d));
  const stop = async () => {
    await stopGroup(proc);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForSocket(proc, socket, () => stderr);
  } catch (err) {
    await stop();
    throw err;
  }
  return { socket, dir, pids: () => groupMembers(proc.pid!), errorLog: () => stderr, stop };
}

/**
 * SIGTERM to the group, SIGKILL if it lingers. The prefork parent has no
 * handler and dies at once while its workers finish the request in hand, so
 * waiting for the parent alone is not enough: this waits until no live
 * process is left in the group.
 */
async function stopGroup(proc: ChildProcess): Promise<void> {
  const pgid = proc.pid!;
  await stopProcessGroup(proc, "SIGTERM");
  if (await groupGone(pgid)) return;
  try {
    process.kill(-pgid, "SIGKILL");
  } catch {
    // gone in between
  }
  if (!(await groupGone(pgid))) throw new Error(`fcgiwrap: processes ${groupMembers(pgid).join(", ")} survived SIGKILL`);
}

async function groupGone(pgid: number): Promise<boolean> {
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (groupMembers(pgid).length > 0) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
  return true;
}

/**
 * Live processes whose process group is `pgid`, from /proc/PID/stat (proc(5):
 * field 3 the state, field 5 the group). Zombies are left out: they are dead,
 * and the ones reparented to init are reaped whenever it gets to them.
 */
function groupMembers(pgid: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue; // exited while listing
    }
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    const [state, , group] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(group) === pgid && state !== "Z") found.push(Number(entry));
  }
  return found;
}

/** fcgiwrap binds and listens before it forks its workers: once the socket accepts, it serves. */
async function waitForSocket(proc: ChildProcess, socket: string, log: () => string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      throw new Error(`fcgiwrap exited (${proc.exitCode ?? proc.signalCode}): ${log()}`);
    }
    if (await canConnect(socket)) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`fcgiwrap did not listen on ${socket} within ${START_TIMEOUT_MS} ms: ${log()}`);
}

function canConnect(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ path });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}
