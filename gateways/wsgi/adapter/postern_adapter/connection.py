"""One FastCGI connection from postern (FastCGI spec §3, §5, §6.2): requests
one after the other while FCGI_KEEP_CONN asks to keep it open, management
records answered, anything left of a finished request's STDIN skipped.
The adapter does not multiplex (FCGI_MPXS_CONNS=0): a second request on the
connection while one runs gets FCGI_CANT_MPX_CONN (§5.5).
"""

import threading
import traceback

from . import fastcgi as fcgi
from .exchange import Exchange


class Server:
    """What every connection shares: the application, the process's WSGI flags, and the count of requests in flight."""

    def __init__(self, app, threads, workers):
        self.app = app
        self.max_conns = threads
        self.flags = (threads > 1, workers > 1)  # wsgi.multithread, wsgi.multiprocess
        self.stopping = False
        self.busy = 0  # requests in flight, for the drain on SIGTERM
        self._count = threading.Lock()

    def serve(self, sock):
        """Serves the connection until postern closes it, or it may not be kept; closes it."""
        try:
            _Connection(self, sock).serve()
        except (OSError, fcgi.ProtocolError):
            # postern went away, or broke the framing: nothing to answer on.
            pass
        except Exception:
            # A fault of the adapter's own: the connection goes, the thread serves the next one.
            traceback.print_exc()
        finally:
            sock.close()

    def enter(self):
        with self._count:
            self.busy += 1

    def leave(self):
        with self._count:
            self.busy -= 1


class _Connection:
    __slots__ = ("_server", "_sock", "_records", "_lock", "_rid", "_stdin_done")

    def __init__(self, server, sock):
        self._server = server
        self._sock = sock
        self._records = fcgi.RecordReader(sock)
        self._lock = threading.Lock()
        self._rid = 0
        self._stdin_done = True

    def send(self, data):
        # wsgi.errors may be written from another thread than the request's.
        with self._lock:
            self._sock.sendall(data)

    def serve(self):
        server = self._server
        records = self._records
        while not server.stopping:
            record = records.next()
            if record is None:
                return
            rtype, rid, content = record
            if rtype == fcgi.BEGIN_REQUEST:
                if len(content) != 8:
                    raise fcgi.ProtocolError("FCGI_BEGIN_REQUEST body of %d bytes, not 8 (FastCGI spec §5.1)" % len(content))
                keep = content[2] & fcgi.KEEP_CONN
                if (content[0] << 8 | content[1]) != fcgi.RESPONDER:
                    self.send(fcgi.end_request(rid, fcgi.UNKNOWN_ROLE))
                elif not self._request(rid):
                    return
                if not keep:
                    return  # §5.1: without FCGI_KEEP_CONN the application closes the connection
            elif rid == 0:
                self.send(fcgi.management_answer(rtype, content, server.max_conns))
            # Anything else belongs to a finished request (the rest of its STDIN, a late ABORT): skipped.

    def _request(self, rid):
        """Reads the params and runs the application; False when the connection must be dropped."""
        server = self._server
        server.enter()
        try:
            params = []
            while True:
                rtype, got, content = self._next_of(rid)
                if rtype == fcgi.PARAMS:
                    if not content:
                        break  # §3.3: the empty record ends the stream
                    params.append(content)
                elif rtype == fcgi.ABORT_REQUEST:
                    self.send(fcgi.end_request(rid))
                    return True
            self._rid = rid
            self._stdin_done = False
            running = [True]

            def pull():
                # A thread the application left running must not read the next request's records.
                if not running[0]:
                    raise ConnectionError("wsgi.input read after its request ended")
                return self._stdin()

            exchange = Exchange(self.send, rid, fcgi.decode_pairs(b"".join(params)), pull, server.flags)
            try:
                return exchange.run(server.app)
            finally:
                running[0] = False
        finally:
            server.leave()

    def _next_of(self, rid):
        """The next record of request `rid`; management records and other requests are answered on the way."""
        while True:
            record = self._records.next()
            if record is None:
                raise ConnectionResetError("postern closed the connection in the middle of a request")
            rtype, got, content = record
            if got == rid:
                return record
            if got == 0:
                self.send(fcgi.management_answer(rtype, content, self._server.max_conns))
            elif rtype == fcgi.BEGIN_REQUEST:
                self.send(fcgi.end_request(got, fcgi.CANT_MPX_CONN))

    def _stdin(self):
        """The next bytes of the request's FCGI_STDIN (§5.3), b"" at its end."""
        if self._stdin_done:
            return b""
        while True:
            rtype, _, content = self._next_of(self._rid)
            if rtype == fcgi.STDIN:
                if not content:
                    self._stdin_done = True
                return content
            if rtype == fcgi.ABORT_REQUEST:
                # §5.4: postern gave the request up; its body will not come.
                self._stdin_done = True
                raise ConnectionAbortedError("postern aborted the request")
