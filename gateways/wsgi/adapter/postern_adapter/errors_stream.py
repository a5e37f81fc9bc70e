"""wsgi.errors (PEP 3333, "Input and Error Streams"): text the application
logs, sent as FCGI_STDERR records of its request (FastCGI spec §5.3) so that
postern logs it with the route and path; once the request is over (a thread
the application left running), or when its connection is gone, the
process's stderr, which is postern's.
"""

import sys
import threading

from .fastcgi import STDERR, stream


class Errors:
    __slots__ = ("_send", "_rid", "open", "gate")

    def __init__(self, send, rid):
        self._send = send
        self._rid = rid
        self.open = True
        # Held from the check of `open` to the end of the send (here and by
        # the request's write()): once end() returns, no record of this
        # request can follow, not even from a thread that was half-way
        # through a write (postern drops a connection that sends records for
        # a request it has ended).
        self.gate = threading.Lock()

    def end(self):
        """The request is over (or its connection gone): further text goes to the process's stderr."""
        with self.gate:
            self.open = False

    def write(self, text):
        if type(text) is not str:
            raise TypeError("wsgi.errors takes str (PEP 3333), not %s" % type(text).__name__)
        if not text:
            return
        with self.gate:
            if self.open:
                try:
                    self._send(stream(STDERR, self._rid, text.encode("utf-8", "backslashreplace")))
                    return
                except OSError:
                    self.open = False
        sys.stderr.write(text)
        sys.stderr.flush()

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        # Every write is sent at once.
        pass
