"""wsgi.errors (PEP 3333, "Input and Error Streams"): text the application
logs, sent as FCGI_STDERR records of its request (FastCGI spec §5.3) so that
postern logs it with the route and path; once the request is over (a thread
the application left running), or when its connection is gone, the
process's stderr, which is postern's.
"""

import sys

from .fastcgi import STDERR, stream


class Errors:
    __slots__ = ("_send", "_rid", "open")

    def __init__(self, send, rid):
        self._send = send
        self._rid = rid
        self.open = True

    def write(self, text):
        if type(text) is not str:
            raise TypeError("wsgi.errors takes str (PEP 3333), not %s" % type(text).__name__)
        if not text:
            return
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
