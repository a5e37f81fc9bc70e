// A real lighttpd (Debian lighttpd 1.4) with mod_fastcgi in front of a FastCGI
// backend, started by a test or a benchmark: a private directory for its config
// and error log, one server on 127.0.0.1, `.php` sent to the backend as the
// lighttpd docs set up PHP (redmine.lighttpd.net/projects/lighttpd/wiki/Docs_ModFastCGI).

import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findBinary } from "./binaries.ts";
import { freePort } from "./ports.ts";
import { stopProcessGroup, waitForPort } from "./server-process.ts";

export interface LighttpdOptions {
  /** Document root (absolute): `server.document-root`. */
  root: string;
  /** Unix socket path of the FastCGI backend (mod_fastcgi "socket"). */
  fastcgiSocket: string;
  /** Listen port on 127.0.0.1; a free one when omitted. */
  port?: number;
  /** The lighttpd binary. Default: found in the usual sbin/bin directories. */
  binary?: string;
}

export interface Lighttpd {
  port: number;
  /** The private directory (config, error.log). Removed by stop(). */
  dir: string;
  /** The error log so far, for a failing test's message. */
  errorLog(): string;
  stop(): Promise<void>;
}

export async function startLighttpd(options: LighttpdOptions): Promise<Lighttpd> {
  const binary = options.binary ?? findBinary(["lighttpd"]);
  if (!binary) throw new Error("lighttpd not found: install it with `apt-get install -y lighttpd`");
  const port = options.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), "postern-lighttpd-"));
  const errorLog = join(dir, "error.log");
  writeFileSync(join(dir, "lighttpd.conf"), lighttpdConfig(dir, port, options));
  // -D: stay in the foreground.
  const proc = spawn(binary, ["-D", "-f", join(dir, "lighttpd.conf")], {
    stdio: ["ignore", "ignore", "pipe"],
    detached: true,
  });
  let stderr = "";
  proc.stderr!.on("data", (d) => (stderr += d));
  const log = () => stderr + safeRead(errorLog);
  try {
    await waitForPort(proc, port, "lighttpd", log);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    port,
    dir,
    errorLog: log,
    stop: async () => {
      // SIGINT: graceful shutdown (lighttpd(8)); SIGTERM would drop connections at once.
      await stopProcessGroup(proc, "SIGINT");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function lighttpdConfig(dir: string, port: number, o: LighttpdOptions): string {
  const q = (s: string) => JSON.stringify(s);
  // No mod_accesslog: no access log. mod_indexfile and mod_staticfile are loaded by default.
  return `server.modules = ( "mod_fastcgi" )
server.document-root = ${q(o.root)}
server.bind = "127.0.0.1"
server.port = ${port}
server.errorlog = ${q(join(dir, "error.log"))}
server.upload-dirs = ( ${q(dir)} )
index-file.names = ( "index.php" )
fastcgi.server = ( ".php" => ((
  "socket" => ${q(o.fastcgiSocket)},
  "check-local" => "enable",
  "broken-scriptfilename" => "enable",
  "fix-root-scriptname" => "disable"
)) )
`;
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}
