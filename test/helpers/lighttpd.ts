// A real lighttpd (Debian lighttpd 1.4) started by a test or a benchmark: a
// private directory for its config and error log, one server on 127.0.0.1,
// either with mod_fastcgi sending `.php` to a backend as the lighttpd docs set
// up PHP (redmine.lighttpd.net/projects/lighttpd/wiki/Docs_ModFastCGI), or with
// mod_cgi running scripts (redmine.lighttpd.net/projects/lighttpd/wiki/Docs_ModCGI).

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
  fastcgiSocket?: string;
  /** Run CGI scripts with mod_cgi instead of FastCGI. */
  cgi?: {
    /** `cgi.assign`: extension -> interpreter; "" runs the file itself. Default: every file runs itself. */
    assign?: Record<string, string>;
    /** `cgi.execute-x-only`: only files with the execute bit run. */
    executeXOnly?: boolean;
  };
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
  const common = `server.document-root = ${q(o.root)}
server.bind = "127.0.0.1"
server.port = ${port}
server.errorlog = ${q(join(dir, "error.log"))}
server.upload-dirs = ( ${q(dir)} )
`;
  if (o.cgi) {
    const assign = Object.entries(o.cgi.assign ?? { "": "" })
      .map(([ext, program]) => `${q(ext)} => ${q(program)}`)
      .join(", ");
    return `server.modules = ( "mod_cgi" )
${common}cgi.assign = ( ${assign} )
cgi.execute-x-only = "${o.cgi.executeXOnly ? "enable" : "disable"}"
`;
  }
  if (!o.fastcgiSocket) throw new Error("startLighttpd needs fastcgiSocket or cgi");
  return `server.modules = ( "mod_fastcgi" )
${common}index-file.names = ( "index.php" )
fastcgi.server = ( ".php" => ((
  "socket" => ${q(o.fastcgiSocket)},
  "check-local" => "enable",
  "broken-scriptfilename" => "enable",
  "fix-root-scriptname" => "disable"
)) )
`;
}
