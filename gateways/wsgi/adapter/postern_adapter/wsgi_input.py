"""wsgi.input (PEP 3333, "Input and Error Streams"): the request body as it
arrives in FCGI_STDIN records (FastCGI spec §6.2), never read whole ahead of
the application, and ending at CONTENT_LENGTH, so that an application that
reads "to the end" stops where the body does (wsgi.input_terminated).
"""


class BodyCut(ConnectionError):
    """The request body ended before its CONTENT_LENGTH: the client or postern went away."""


class Input:
    """read(), read(n), readline(), readline(size), readlines(hint) and iteration over lines.

    The bytes in hand are one chunk of the stream and an offset into it: a
    read takes a slice, and a line or read longer than the chunk joins the
    pieces once, so that no call copies more than it returns (a loop of
    `buf += data` or `buf = buf[n:]` would be quadratic in the body).
    """

    __slots__ = ("_pull", "_left", "_buf", "_pos")

    def __init__(self, pull, length):
        # pull(): the next STDIN bytes, b"" at the end of the stream.
        self._pull = pull
        # Bytes still to take from the stream; None: up to the stream's end (no CONTENT_LENGTH).
        self._left = length
        self._buf = b""
        self._pos = 0

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
            return self._take(_NO_LIMIT, False)
        return self._take(size, False)

    def readline(self, size=-1):
        if size is None or size < 0:
            size = _NO_LIMIT
        return self._take(size, True)

    def _take(self, size, line):
        """Up to `size` bytes, ending after the first LF when `line`."""
        buf = self._buf
        pos = self._pos
        end = pos + size
        if line:
            lf = buf.find(b"\n", pos, end)
            if lf >= 0:
                end = lf + 1
        if end <= len(buf):
            self._pos = end
            return buf[pos:end]
        parts = [buf[pos:]]
        want = end - len(buf)
        while True:
            data = self._more()
            if not data:
                self._buf = b""
                self._pos = 0
                return b"".join(parts)
            cut = want
            if line:
                lf = data.find(b"\n", 0, want)
                if lf >= 0:
                    cut = lf + 1
            if cut <= len(data):
                parts.append(data[:cut])
                self._buf = data
                self._pos = cut
                return b"".join(parts)
            parts.append(data)
            want -= len(data)

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


# Larger than any body: read() and readline() without a size.
_NO_LIMIT = 1 << 62
