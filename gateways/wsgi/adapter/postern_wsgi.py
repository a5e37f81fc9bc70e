"""postern's WSGI adapter: serves one WSGI application (PEP 3333) to postern
as a FastCGI Responder (FastCGI spec §6.2) on a private unix socket, with
connections kept across requests (FCGI_KEEP_CONN). Standard library only,
Python 3.9 or later.

    python3 postern_wsgi.py --socket PATH --app MODULE:APP
        [--threads N] [--workers N] [--chdir DIR] [--pythonpath DIR]...
    python3 postern_wsgi.py --check --app MODULE:APP [--chdir DIR] [--pythonpath DIR]...

The application is imported before the socket is bound, so a socket that
accepts means an application that loaded; one that cannot be loaded exits
with status 3 (Gunicorn's boot-error status) and its traceback on stderr.
With --check it imports the application the same way and exits, 0 when it
loaded (`postern check`, as Gunicorn's --check-config).
"""

import os
import sys

# The adapter's own modules come from beside this file; the application's
# path (--chdir, --pythonpath) is set up once they are loaded.
sys.path[0] = os.path.dirname(os.path.abspath(__file__))
# No bytecode of the adapter's own modules is written beside them: they are
# an installed package (node_modules/postern/dist/...), which stays as it was
# installed, and a __pycache__ that a worker running as another user left
# there is one its owner cannot remove. Compiling them costs a worker start
# about 10 ms. The application's imports write bytecode as the interpreter
# was told to (-B, PYTHONDONTWRITEBYTECODE): the setting is restored below.
_dont_write_bytecode = sys.dont_write_bytecode
sys.dont_write_bytecode = True

import argparse  # noqa: E402
import importlib  # noqa: E402
import socket  # noqa: E402
import stat  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402

from postern_adapter.connection import Server  # noqa: E402
from postern_adapter.lifecycle import Lifecycle, drain  # noqa: E402

sys.dont_write_bytecode = _dont_write_bytecode

BOOT_ERROR = 3  # Gunicorn's WORKER_BOOT_ERROR / APP_LOAD_ERROR status
BACKLOG = 1024
ACCEPT_RETRY_S = 0.1
# How long the exit may take once the requests are answered (atexit handlers, the application's threads).
EXIT_GRACE_S = 2.0


def main(argv):
    parser = _arguments()
    args = parser.parse_args(argv)
    if not args.check and args.socket is None:
        parser.error("--socket is required unless --check is given")
    lifecycle = Lifecycle()
    _set_path(args.chdir, args.pythonpath)
    try:
        app = load_app(args.app)
    except BaseException as error:
        sys.stderr.write(_app_traceback(error))
        sys.stderr.flush()
        return BOOT_ERROR
    if args.check:
        # Threads the application started at import would hold the exit back.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    listener = _listen(args.socket)
    server = Server(app, args.threads, args.workers)
    for _ in range(args.threads):
        threading.Thread(target=_accept_loop, args=(listener, server), daemon=True).start()
    timeout = lifecycle.wait()
    # Stop accepting: no new connection can reach the path once it is gone.
    _unlink_socket(args.socket)
    drain(server, timeout)
    _exit_after(EXIT_GRACE_S)
    return 0


def _app_traceback(error):
    """The traceback without the adapter's and importlib's frames, which are
    no help to whoever fixes the application."""
    machinery = (os.path.abspath(__file__), os.path.dirname(importlib.__file__))
    frames = [
        frame
        for frame in traceback.extract_tb(error.__traceback__)
        if not (frame.filename.startswith(machinery) or frame.filename.startswith("<frozen importlib"))
    ]
    lines = traceback.format_list(frames) + traceback.format_exception_only(type(error), error)
    return "".join(["Traceback (most recent call last):\n"] + lines)


def _exit_after(seconds):
    """Python's exit first waits for every thread that is not a daemon: one the
    application left running would keep the worker alive, even orphaned."""

    def stop():
        time.sleep(seconds)
        sys.stderr.flush()
        os._exit(0)

    threading.Thread(target=stop, name="postern-exit", daemon=True).start()


def _arguments():
    parser = argparse.ArgumentParser(prog="postern_wsgi.py", description="Serve a WSGI application to postern over FastCGI.")
    parser.add_argument("--socket", help="unix socket path to listen on (created mode 0600)")
    parser.add_argument("--check", action="store_true", help="import the application and exit: 0 when it loaded, 3 when not")
    parser.add_argument("--app", required=True, help="MODULE:APP, APP a name or dotted path (default: application)")
    parser.add_argument("--threads", type=_positive, default=1, help="connections served at once (threads)")
    parser.add_argument("--workers", type=_positive, default=1, help="worker processes of the route (sets wsgi.multiprocess)")
    parser.add_argument("--chdir", help="change to this directory and put it first on sys.path")
    parser.add_argument("--pythonpath", action="append", default=[], help="directories to add to sys.path (repeatable, or comma-separated)")
    return parser


def _positive(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _set_path(chdir, pythonpath):
    """As Gunicorn: --chdir (else the current directory) first on sys.path, then each --pythonpath."""
    if chdir:
        os.chdir(chdir)
    sys.path[0] = os.getcwd()
    for entry in pythonpath:
        for directory in entry.split(","):
            if directory and directory not in sys.path:
                sys.path.insert(1, os.path.abspath(directory))


def load_app(spec):
    """MODULE:ATTR, ATTR a dotted path ("application" when omitted), or a call of a factory without arguments ("create_app()")."""
    module_name, _, attr = spec.partition(":")
    if not module_name:
        raise ValueError("no module in the application %r; expected MODULE:APP" % spec)
    attr = attr or "application"
    call = attr.endswith("()")
    if call:
        attr = attr[:-2]
    obj = importlib.import_module(module_name)
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise AttributeError("application %r: %r has no attribute %r" % (spec, obj, part))
        obj = getattr(obj, part)
    if call:
        obj = obj()
    if not callable(obj):
        raise TypeError("application %r is a %s, not a callable WSGI application" % (spec, type(obj).__name__))
    return obj


def _listen(path):
    _unlink_socket(path)  # left by a worker that ran on this path before
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    umask = os.umask(0o177)  # the socket is born 0600: only postern's user may connect
    try:
        sock.bind(path)
    finally:
        os.umask(umask)
    sock.listen(BACKLOG)
    return sock


def _unlink_socket(path):
    try:
        if stat.S_ISSOCK(os.lstat(path).st_mode):
            os.unlink(path)
    except FileNotFoundError:
        pass


def _accept_loop(listener, server):
    failing = False
    while not server.stopping:
        try:
            sock, _ = listener.accept()
        except OSError as err:
            # accept(2): out of descriptors or memory (EMFILE, ENFILE, ENOBUFS),
            # or a peer that gave up (ECONNABORTED). The listener is never
            # closed, so the next try may succeed; a thread that stopped here
            # would leave a worker that is up and serves no one.
            if not failing:
                print("postern_wsgi: accept() failed, trying again: %s" % err, file=sys.stderr, flush=True)
            failing = True
            time.sleep(ACCEPT_RETRY_S)
            continue
        failing = False
        server.serve(sock)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
