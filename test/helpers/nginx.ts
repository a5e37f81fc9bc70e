// A real nginx (Debian nginx 1.22) in front of a FastCGI backend, started by a
// test or a benchmark: a private prefix directory holding its config, logs and
// temp files, one server on 127.0.0.1, and either the PHP location every
// nginx+php-fpm guide gives — Debian's stock /etc/nginx/fastcgi.conf plus
// fastcgi_split_path_info and PATH_INFO (nginx.org/en/docs/http/ngx_http_fastcgi_module.html) —
// or, for CGI programs behind fcgiwrap, the location of Debian's
// /usr/share/doc/fcgiwrap/examples/nginx.conf; or, with startNginxServer, a
// server block of one's own.

import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findBinary } from "./binaries.ts";
import { freePort } from "./ports.ts";
import { startServerProcess, type ServerProcess } from "./server-process.ts";

export interface NginxOptions {
  /** Document root (absolute): nginx's `root`, so $document_root. */
  root: string;
  /** A `fastcgi_pass` / upstream `server` address in nginx syntax: "unix:/path.sock" or "127.0.0.1:9000". */
  fastcgiPass: string;
  /** Listen port on 127.0.0.1; a free one when omitted. */
  port?: number;
  /** Idle connections kept to the backend: adds an upstream with `keepalive N` and `fastcgi_keep_conn on`. */
  keepalive?: number;
  /**
   * The backend is fcgiwrap: every path is a CGI program under `root`, run from
   * SCRIPT_FILENAME, instead of `.php` paths going to PHP.
   */
  cgi?: boolean;
  /** `try_files $uri /index.php?$query_string`: paths that name no file run the front controller. */
  frontController?: boolean;
  /** `server_name` (nginx's $server_name, sent as SERVER_NAME by fastcgi.conf). Default "localhost". */
  serverName?: string;
  /** `worker_processes`. Default 1. */
  workers?: number;
  /** The nginx binary. Default: found in the usual sbin/bin directories. */
  binary?: string;
}

export type Nginx = ServerProcess;

export async function startNginx(options: NginxOptions): Promise<Nginx> {
  const backend = options.keepalive === undefined ? options.fastcgiPass : "postern_backend";
  const upstream =
    options.keepalive === undefined ? "" : `  upstream postern_backend {\n    server ${options.fastcgiPass};\n    keepalive ${options.keepalive};\n  }\n`;
  const server = `    server_name ${options.serverName ?? "localhost"};
    root ${options.root};
${options.cgi ? cgiLocation(backend, options) : phpLocation(backend, options)}`;
  return startNginxServer({ http: upstream, server }, options);
}

/**
 * nginx with a config of one's own: `http` goes into its http block (an
 * upstream), `server` into its one server block after the listen line (a
 * location, such as a README's proxy example).
 */
export async function startNginxServer(blocks: { http?: string; server: string }, options: { port?: number; workers?: number; binary?: string } = {}): Promise<Nginx> {
  const binary = options.binary ?? findBinary(["nginx"]);
  if (!binary) throw new Error("nginx not found: install it with `apt-get install -y nginx-light`");
  const port = options.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), "postern-nginx-"));
  for (const temp of ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]) mkdirSync(join(dir, temp));
  const errorLog = join(dir, "error.log");
  writeFileSync(join(dir, "nginx.conf"), nginxConfig(dir, port, options.workers ?? 1, blocks));
  // -e: the error log before the config is read (nginx >= 1.19.5), so nothing goes to /var/log.
  return startServerProcess({
    name: "nginx",
    binary,
    args: ["-p", dir, "-c", join(dir, "nginx.conf"), "-e", errorLog],
    port,
    dir,
    errorLogPath: errorLog,
    // SIGQUIT: graceful shutdown (nginx.org/en/docs/control.html).
    stopSignal: "SIGQUIT",
  });
}

function nginxConfig(dir: string, port: number, workers: number, blocks: { http?: string; server: string }): string {
  // Started as root, nginx would switch its workers to "nobody", who may not read the root or the socket.
  const user = process.getuid?.() === 0 ? "user root;\n" : "";
  return `${user}daemon off;
master_process on;
worker_processes ${workers};
error_log ${join(dir, "error.log")};
pid ${join(dir, "nginx.pid")};
events {
  worker_connections 1024;
}
http {
  access_log off;
  client_body_temp_path ${join(dir, "client_body")};
  proxy_temp_path ${join(dir, "proxy")};
  fastcgi_temp_path ${join(dir, "fastcgi")};
  uwsgi_temp_path ${join(dir, "uwsgi")};
  scgi_temp_path ${join(dir, "scgi")};
  default_type application/octet-stream;
${blocks.http ?? ""}  server {
    listen 127.0.0.1:${port};
${blocks.server}  }
}
`;
}

function phpLocation(backend: string, o: NginxOptions): string {
  return `    index index.php;
${o.frontController ? "    location / {\n      try_files $uri /index.php?$query_string;\n    }\n" : ""}    location ~ [^/]\\.php(/|$) {
      fastcgi_split_path_info ^(.+?\\.php)(/.*)$;
      # A script that is not there is nginx's 404, never php-fpm's (nginx.com "PHP FastCGI Example").
      if (!-f $document_root$fastcgi_script_name) {
        return 404;
      }
      include /etc/nginx/fastcgi.conf;
      fastcgi_param PATH_INFO $fastcgi_path_info;
      fastcgi_pass ${backend};
${keepConn(o)}    }
`;
}

/** fcgiwrap runs the file SCRIPT_FILENAME names (fcgiwrap(8)); fastcgi_params has every other meta-variable. */
function cgiLocation(backend: string, o: NginxOptions): string {
  return `    location / {
      include /etc/nginx/fastcgi_params;
      fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
      fastcgi_pass ${backend};
${keepConn(o)}    }
`;
}

function keepConn(o: NginxOptions): string {
  return o.keepalive === undefined ? "" : "      fastcgi_keep_conn on;\n";
}

