// The usage text of postern and of each of its commands (`postern CMD --help`).

/** The options of every command that serves: serve, fastcgi, cgi, wasi, wagi. */
const SERVER_OPTIONS = `  -b, --bind, --listen ADDR   listen there, repeatable (127.0.0.1:8080)
  --graceful-timeout SECONDS  how long requests in flight are waited for on
                              SIGTERM or SIGINT, and after a SIGHUP (30; or "500ms")
  --pid FILE                  write postern's process id to FILE once it listens;
                              removed at exit
  --access-log FILE|-|off     where a line per request goes (-: stdout)
  --error-log FILE|-          where errors go (-: stderr); SIGUSR1 opens
                              both files anew (logrotate)
  -h, --help                  this text`;

const ADDRESSES = "ADDR is host:port, tcp://host:port, [::1]:port or unix:/path.";

const SIGNALS = `Signals: SIGTERM or SIGINT stop accepting, finish requests in flight and
exit 0 (1 if some still run after the graceful timeout).`;

export const USAGE = `postern: a web gateway to FastCGI, CGI, WSGI, WASI and static backends

Usage:
  postern serve [-c postern.toml] [-b ADDR]...   serve a config
  postern check [-c postern.toml]                check a config, start nothing
  postern fastcgi --backend ADDR --root DIR      a PHP site: its files, its .php
          [--front-controller /index.php]        scripts run by php-fpm
  postern cgi DIR [--run-all] [-e KEY=VALUE]...  a directory's CGI programs and files
  postern wsgi [Gunicorn's options] MODULE:APP   a WSGI app
  postern wasi FILE.wasm                         a WASI module
  postern wagi modules.toml                      WAGI's modules
  postern --help | --version
  postern COMMAND --help                         the command's options

Options of the commands that serve (all but check):
${SERVER_OPTIONS.split("\n").slice(0, -1).join("\n")}

${ADDRESSES}
The default config is ./postern.toml; the default listen address 127.0.0.1:8080.
SIGTERM or SIGINT: stop accepting, finish requests in flight, exit 0; exit 1
if some are still running after graceful_timeout (30 s by default).
SIGHUP: reload the config (serve, wagi, wsgi). SIGUSR1: reopen the log files.
Exit status: 0 after a drain; 1 for a failure at run time (an address that
cannot be listened on, a drain cut short by graceful_timeout); 2 for a usage
or config error; 3 when a wsgi app cannot be imported at startup.`;

const CHECK = `postern check: read a config as postern serve would, report what is
wrong with it (the file, the line, the key) and start nothing

Usage:
  postern check [options]

Options:
  -c, --config FILE           the config (./postern.toml)
  -h, --help                  this text

Exit status: 0 when the config is valid (warnings leave it 0), 2 when not.`;

const SERVE = `postern serve: serve what a postern.toml says

Usage:
  postern serve [options]

Options:
  -c, --config FILE           the config (./postern.toml)
${SERVER_OPTIONS}

--bind, --graceful-timeout, --access-log and --error-log replace the config's
listen, graceful_timeout, access_log and error_log.
${ADDRESSES}
${SIGNALS}
SIGHUP reads the config again and replaces the routes without dropping a
request; a config that does not load leaves the running one in place.`;

const FASTCGI = `postern fastcgi: a PHP site, as caddy php-server serves it: a path that
names a file under DIR gets the file, one that names a .php script (or a
directory's index.php) runs it through the FastCGI backend (php-fpm), and
with --front-controller every other path runs that script. PHP sources,
dotfiles and files with a script's extension are never sent as files.

Usage:
  postern fastcgi --backend ADDR --root DIR [options]

Options:
  --backend ADDR              the FastCGI backend, repeatable (balanced)
  --root DIR                  the site's directory, as the backend sees it too
  --front-controller PATH     the script that answers paths no file or script
                              does, e.g. /index.php (WordPress, Laravel)
  --index FILE                a directory's script, repeatable (index.php)
${SERVER_OPTIONS}

A directory's index.html is served before its index.php.
${ADDRESSES}
${SIGNALS}`;

const CGI = `postern cgi: a directory's CGI programs, and its other files as they are

Usage:
  postern cgi DIR [options]

Options:
  --run-all                   also run .pl, .py, .rb, .php and .sh files
                              without an execute bit, by their interpreter
  -e, --env KEY=VALUE         set in the programs' environment, repeatable
                              (e.g. CGIT_CONFIG=/etc/cgitrc)
  --index FILE                a directory's program, repeatable (index.cgi)
${SERVER_OPTIONS}

Files with an execute bit run; other files are sent as they are, except
dotfiles and files with a script's extension (.pl, .py, .rb, .php, .sh,
.cgi), which are 403 unless --run-all runs them: a script is never sent as
a file. The programs see PATH and the -e variables, not postern's environment.
${ADDRESSES}
${SIGNALS}`;

const WASI = `postern wasi: a WASI module run for each request, as a CGI program

Usage:
  postern wasi FILE.wasm [options]

Options:
${SERVER_OPTIONS}

${ADDRESSES}
${SIGNALS}`;

const WAGI = `postern wagi: the modules a WAGI modules.toml names, each at its route

Usage:
  postern wagi modules.toml [options]

Options:
${SERVER_OPTIONS}

${ADDRESSES}
${SIGNALS}
SIGHUP reads modules.toml again.`;

const WSGI = `postern wsgi: a WSGI app served by Python workers postern supervises,
with Gunicorn's flags and defaults

Usage:
  postern wsgi [options] MODULE:APP      (APP defaults to "application")
  postern wsgi -c postern.toml [-b ADDR]... [-p FILE]

Options (Gunicorn's):
  -w, --workers N            worker processes ($WEB_CONCURRENCY, else 1)
  --threads N                requests one worker serves at once (1)
  -b, --bind ADDR            listen there, repeatable (0.0.0.0:$PORT, else 127.0.0.1:8000)
  -t, --timeout SECONDS      a request running longer is 504, its worker's stack
                             logged and the worker replaced (30; 0 = none)
  --graceful-timeout SECONDS how long requests in flight are waited for on
                             SIGTERM and SIGHUP (30)
  --max-requests N           recycle a worker after N requests (0 = never)
  --max-requests-jitter N    plus a random 0..N, so workers do not recycle together
  --chdir DIR                import the app from DIR (the working directory); the
                             relative paths of the other flags are taken from it
  --pythonpath DIR[,DIR]     add to sys.path, repeatable
  -e, --env KEY=VALUE        set in the workers' environment, repeatable
  -u, --user USER            run the workers as USER ("nobody" when root)
  -g, --group GROUP          and GROUP (USER's primary group)
  --forwarded-allow-ips IPS  proxies whose X-Forwarded-For/-Proto are believed,
                             comma-separated, * for any ($FORWARDED_ALLOW_IPS,
                             else 127.0.0.1,::1)
  --access-logfile FILE      log each request to FILE, "-" for stdout (no access log)
  --error-logfile FILE       postern's and the workers' errors to FILE ("-": stderr);
  --log-file FILE            the same
  -p, --pid FILE             write postern's process id to FILE once it listens;
                             removed at exit
  --limit-request-line N, --limit-request-fields N, --limit-request-field_size N,
  --keep-alive SECONDS       postern's [client] limits
Options (postern's):
  --pass-env NAME[,NAME]     pass these of postern's environment to the workers, repeatable
  --python PATH              the Python interpreter (python3 on PATH)
  --max-worker-memory SIZE   recycle a worker whose memory passes SIZE ("512m"; 0 = none)
  -c, --config postern.toml  serve that config, whose wsgi routes say the rest
  -h, --help                 this text

Workers get PATH, --pass-env's and -e's variables, not postern's whole environment.
Signals: SIGHUP starts new workers with the app's code as it is now and
retires the old ones once they are serving (an app that no longer imports
leaves the old workers serving); SIGTTIN/SIGTTOU add or remove a worker;
SIGTERM/SIGINT finish requests in flight and exit 0.
Exit status 3: the app could not be imported at startup (the Python error
is on stderr).`;

/** Each command's usage, by name. */
export const COMMAND_USAGE: Record<string, string> = { check: CHECK, serve: SERVE, fastcgi: FASTCGI, cgi: CGI, wasi: WASI, wagi: WAGI, wsgi: WSGI };
