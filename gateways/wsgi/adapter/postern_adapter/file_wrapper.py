"""wsgi.file_wrapper (PEP 3333, "Optional Platform-Specific File Handling"):
a file sent in blocks as it is read, never read whole. FastCGI carries a body
only inside FCGI_STDOUT records (FastCGI spec §3.3), so the kernel cannot
send the file by itself (sendfile); the adapter reads a record's worth at a
time instead (see exchange.py).
"""


class FileWrapper:
    __slots__ = ("filelike", "blksize", "close")

    def __init__(self, filelike, blksize=8192):
        self.filelike = filelike
        self.blksize = blksize
        if hasattr(filelike, "close"):
            self.close = filelike.close

    def __iter__(self):
        return self

    def __next__(self):
        data = self.filelike.read(self.blksize)
        if data:
            return data
        raise StopIteration
