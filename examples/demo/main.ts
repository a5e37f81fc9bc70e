// The postern demo: a landing page (static files), a hono route written in
// TypeScript, CGI scripts in sh, Perl and Python, a WebAssembly (WASI) CGI
// module, Ruby scripts run by Ruby compiled to WebAssembly, and PHP scripts
// through a php-cgi that postern starts itself, and a WSGI app in Python
// workers it supervises. Run as root, the scripts
// and php-cgi run as nobody (README, "Privilege separation"): this directory
// must be readable by that user.
// `npm start` runs it; LISTEN=host:port changes where it listens.

import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Hono } from "hono";
import { cgi, fastcgi, serve, staticFiles, wasi, wsgi } from "postern";

const here = import.meta.dirname;
const app = new Hono();

app.get("/api/hello", (c) => c.json({ hello: "from a hono route", at: new Date().toISOString() }));

const php = findOnPath("php-cgi") ? fastcgi({ root: here, spawn: { command: ["php-cgi"], procs: 2 } }) : undefined;
if (php) {
  app.all("/php/*", php);
} else {
  app.all("/php/*", (c) =>
    c.html(
      `<h1>PHP is not installed</h1><p>This route runs PHP through <code>php-cgi</code>, which postern starts itself. Install it with</p><pre>sudo apt-get install php-cgi</pre><p>and run <code>npm start</code> again.</p>`,
      503,
    ),
  );
}

// /cgi-bin/hello.sh runs examples/demo/cgi-bin/hello.sh, each script by the
// interpreter its extension names (those this machine has). They are named,
// not given as paths: postern looks them up on PATH as the scripts' user
// (nobody, when the demo runs as root) may run them.
const interpreters = Object.fromEntries(
  Object.entries({ ".sh": "sh", ".pl": "perl", ".py": "python3" }).filter(([, program]) => findOnPath(program)),
);
const cgiBin = cgi({ root: here, interpreters });
app.all("/cgi-bin/*", cgiBin);

// /wasi/env runs examples/wasi/probe.wasm (built from examples/wasi/src/probe.c).
const probe = wasi({ module: join(here, "../wasi/probe.wasm"), timeout: "5s", max_memory: "64m" });
app.all("/wasi/*", probe);

// /ruby/hello.rb runs examples/demo/ruby/hello.rb with Ruby compiled to
// WebAssembly (npm @ruby/3.4-wasm-wasi, a development dependency).
const rubyModule = findRuby();
const ruby = rubyModule ? wasi({ interpreter: "ruby", module: rubyModule, root: here, timeout: "10s" }) : undefined;
if (ruby) {
  app.all("/ruby/*", ruby);
} else {
  app.all("/ruby/*", (c) =>
    c.html(`<h1>Ruby is not installed</h1><p>This route runs Ruby compiled to WebAssembly. Install it with</p><pre>npm install @ruby/3.4-wasm-wasi</pre>`, 503),
  );
}

// /py/hello runs examples/demo/wsgi/hello_app.py, mounted at /py, in two
// Python workers (the python3 on PATH).
const py = findOnPath("python3") ? wsgi({ app: "hello_app:application", chdir: join(here, "wsgi"), workers: 2 }) : undefined;
if (py) {
  app.all("/py/*", py);
} else {
  app.all("/py/*", (c) => c.html(`<h1>Python is not installed</h1><p>This route runs a WSGI app. Install Python with</p><pre>sudo apt-get install python3</pre>`, 503));
}

app.get("*", staticFiles({ root: join(here, "public") }));

const server = await serve(app, { listen: [process.env.LISTEN ?? "127.0.0.1:8080"] });
for (const addr of server.addresses) {
  if (addr.kind === "tcp") console.log(`postern demo on http://${addr.host}:${addr.port}/`);
}
// Finish requests in flight, then stop the php-cgi processes, the Python workers, the CGI spawner and the WASI threads.
const stop = () =>
  void server
    .close()
    .then(() => Promise.all([php?.close(), py?.close(), cgiBin.close(), probe.close(), ruby?.close()]))
    .then(() => process.exit(0));
process.on("SIGINT", stop);
process.on("SIGTERM", stop);

function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

function findRuby(): string | undefined {
  try {
    return fileURLToPath(import.meta.resolve("@ruby/3.4-wasm-wasi/dist/ruby+stdlib.wasm"));
  } catch {
    return undefined;
  }
}
