"""wsgi.input (PEP 3333, "Input and Error Streams"): the request body as it
arrives in FCGI_STDIN records (FastCGI spec §6.2), never read whole ahead of
the application, and ending at CONTENT_LENGTH, so that an application that
reads "to the end" stops where the body does (wsgi.input_terminated).
"""


class BodyCut(ConnectionError):
    """The request body ended before its CONTENT_LENGTH: the client or postern went away."""


class Input:
    """read(), read(n), readline(), readline(size), readlines(hint) and iteration over lines."""

    __slots__ = ("_pull", "_left", "_buf")

    def __init__(self, pull, length):
        # pull(): the next STDIN bytes, b"" at the end of the stream.
        self._pull = pull
        # Bytes still to take from the stream; None: up to the stream's end (no CONTENT_LENGTH).
        self._left = length
        self._buf = b""

    def _more(self):
        left = self._left
        if left == 0:
            return b""
        data = self._pull()
        if left is None:
            return data
        if not data:
            raise BodyCut("the request body ended %d bytes before its CONTENT_LENGTH" % left)
        if len(data) > left:
            data = data[:left]
        self._left = left - len(data)
        return data

    def read(self, size=-1):
        if size is None or size < 0:
            parts = [self._buf]
            self._buf = b""
            while True:
                data = self._more()
                if not data:
                    return b"".join(parts)
                parts.append(data)
        buf = self._buf
        if len(buf) < size:
            parts = [buf]
            have = len(buf)
            while have < size:
                data = self._more()
                if not data:
                    break
                parts.append(data)
                have += len(data)
            buf = b"".join(parts)
        self._buf = buf[size:]
        return buf[:size]

    def readline(self, size=-1):
        if size is None:
            size = -1
        buf = self._buf
        scanned = 0
        while True:
            lf = buf.find(b"\n", scanned)
            if lf >= 0:
                end = lf + 1
                if 0 <= size < end:
                    end = size
                break
            if 0 <= size <= len(buf):
                end = size
                break
            scanned = len(buf)
            data = self._more()
            if not data:
                end = len(buf)
                break
            buf += data
        self._buf = buf[end:]
        return buf[:end]

    def readlines(self, hint=-1):
        if hint is None:
            hint = -1
        lines = []
        total = 0
        while True:
            line = self.readline()
            if not line:
                return lines
            lines.append(line)
            total += len(line)
            if 0 < hint <= total:
                return lines

    def __iter__(self):
        return self

    def __next__(self):
        line = self.readline()
        if not line:
            raise StopIteration
        return line
