// A real lighttpd (Debian lighttpd 1.4) with mod_fastcgi in front of a FastCGI
// backend, started by a test or a benchmark: a private directory for its config
// and error log, one server on 127.0.0.1, `.php` sent to the backend as the
// lighttpd docs set up PHP (redmine.lighttpd.net/projects/lighttpd/wiki/Docs_ModFastCGI).

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findBinary } from "./binaries.ts";
import { freePort } from "./ports.ts";
import { startServerProcess, type ServerProcess } from "./server-process.ts";

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

export type Lighttpd = ServerProcess;

export async function startLighttpd(options: LighttpdOptions): Promise<Lighttpd> {
  const binary = options.binary ?? findBinary(["lighttpd"]);
  if (!binary) throw new Error("lighttpd not found: install it with `apt-get install -y lighttpd`");
  const port = options.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), "postern-lighttpd-"));
  const errorLog = join(dir, "error.log");
  writeFileSync(join(dir, "lighttpd.conf"), lighttpdConfig(dir, port, options));
  // -D: stay in the foreground.
  return startServerProcess({
    name: "lighttpd",
    binary,
    args: ["-D", "-f", join(dir, "lighttpd.conf")],
    port,
    dir,
    errorLogPath: errorLog,
    // SIGINT: graceful shutdown (lighttpd(8)); SIGTERM would drop connections at once.
    stopSignal: "SIGINT",
  });
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

