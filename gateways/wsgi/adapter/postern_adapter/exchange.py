"""One WSGI request over FastCGI (PEP 3333; FastCGI spec §6.2 Responder):
the environ, start_response and write(), the application's iterable sent as
FCGI_STDOUT records with backpressure, its close() always called, and the
error cases: a 500 page when nothing was sent yet, a cut connection when the
answer had begun (postern then cuts the client's answer).
"""

import sys
import traceback

from .errors_stream import Errors
from .fastcgi import STDOUT, end_request, stream, stream_end
from .file_wrapper import FileWrapper
from .headers import cgi_head, check_headers, check_status, content_length
from .wsgi_input import Input

# A list or tuple is in memory already: its answer goes out in one send, up to this size.
COALESCE_LIMIT = 256 * 1024
# A file is read a record's content at a time (FastCGI spec §3.3: 65535 bytes), 8-byte aligned.
FILE_BLOCK = 65528

ERROR_PAGE = (
    b"Status: 500 Internal Server Error\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Length: 22\r\n"
    b"\r\n"
    b"Internal Server Error\n"
)


class ClientGone(Exception):
    """postern closed the connection (its client left), or the request is over: nothing more can be sent."""


class Exchange:
    __slots__ = ("_send", "_rid", "environ", "_errors", "_status", "_headers", "_left", "_head_out", "_sent", "_pending", "_pending_size")

    def __init__(self, send, rid, params, pull, flags):
        """send(bytes) writes to the connection; pull() gives the next STDIN bytes of the request."""
        self._send = send
        self._rid = rid
        self._errors = Errors(send, rid)
        self.environ = _environ(params, self._errors, pull, flags)
        self._status = None
        self._headers = None
        self._left = None  # body bytes the application's Content-Length still allows; None: no limit
        self._head_out = False  # the head is queued or sent: the status can no longer change
        self._sent = False  # bytes of the answer went out
        self._pending = []
        self._pending_size = 0

    def run(self, app):
        """Serves the request; returns False when the connection must be dropped."""
        try:
            result = app(self.environ, self.start_response)
            try:
                self._respond(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    try:
                        close()
                    except Exception:
                        self._log_exception()
        except ClientGone:
            self._errors.end()
            return False
        except BaseException:
            self._log_exception()
            if self._sent:
                # The answer has begun: cutting it is the only way to say it is not whole.
                self._errors.end()
                return False
            self._pending = [stream(STDOUT, self._rid, ERROR_PAGE)]
        self._errors.end()
        # FastCGI spec §3.3, §6.2: the empty record ends FCGI_STDOUT, then the request ends.
        self._pending.append(stream_end(STDOUT, self._rid) + end_request(self._rid))
        try:
            self._send(b"".join(self._pending))
        except OSError:
            return False
        return True

    def start_response(self, status, headers, exc_info=None):
        if exc_info is not None:
            try:
                if self._head_out:
                    # PEP 3333: once the head is out, the error is the application's to see.
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        elif self._status is not None:
            raise AssertionError("start_response() called again without exc_info (PEP 3333)")
        check_status(status)
        # A copy, as Gunicorn takes: a field the application adds to its list
        # later would go out unchecked (a CR LF in it splits the head, CWE-113).
        headers = list(headers)
        check_headers(headers)
        self._status = status
        self._headers = headers
        self._left = content_length(headers)
        return self.write

    def write(self, data):
        """PEP 3333's write() callable: the bytes go out before it returns, in order before the iterable's."""
        errors = self._errors
        with errors.gate:
            if not errors.open:
                # A thread the application left running: its request has ended.
                raise ClientGone("write() after the request ended, or its connection was lost")
            self._body(data)
            self._flush()

    def _respond(self, result):
        if type(result) is FileWrapper:
            return self._respond_file(result)
        in_memory = type(result) is list or type(result) is tuple
        for data in result:
            self._body(data)
            if self._left == 0:
                # PEP 3333, "Handling the Content-Length Header": stop iterating once that much is sent.
                break
            if not in_memory or self._pending_size >= COALESCE_LIMIT:
                self._flush()
        if not self._head_out:
            self._start_output()

    def _respond_file(self, wrapper):
        read = wrapper.filelike.read
        while True:
            data = read(FILE_BLOCK)
            if not data:
                break
            self._body(data)
            self._flush()
            if self._left == 0:
                break
        if not self._head_out:
            self._start_output()

    def _body(self, data):
        if type(data) is not bytes:
            if not isinstance(data, (bytes, bytearray)):
                raise TypeError("the application gave %s where PEP 3333 wants bytes" % type(data).__name__)
            data = bytes(data)
        left = self._left
        if left is not None:
            # PEP 3333: no more bytes than the application's Content-Length allows.
            if len(data) > left:
                data = data[:left]
            self._left = left - len(data)
        if not data:
            # PEP 3333: an empty bytestring does not make the head go out.
            return
        if not self._head_out:
            self._start_output()
        self._pending.append(stream(STDOUT, self._rid, data))
        self._pending_size += len(data)

    def _start_output(self):
        if self._status is None:
            raise AssertionError("the application gave output before calling start_response() (PEP 3333)")
        head = cgi_head(self._status, self._headers)
        self._pending.append(stream(STDOUT, self._rid, head))
        self._head_out = True

    def _flush(self):
        if not self._pending:
            return
        data = b"".join(self._pending)
        self._pending = []
        self._pending_size = 0
        self._sent = True
        try:
            self._send(data)
        except OSError as err:
            raise ClientGone() from err

    def _log_exception(self):
        text = "".join(traceback.format_exception(*sys.exc_info()))
        self._errors.write(text)


def _environ(params, errors, pull, flags):
    """PEP 3333 "environ Variables": the FastCGI params as latin-1 str, then the wsgi.* keys."""
    environ = params
    environ.setdefault("SCRIPT_NAME", "")
    environ.setdefault("PATH_INFO", "")
    environ.setdefault("QUERY_STRING", "")
    length = environ.get("CONTENT_LENGTH")
    environ["wsgi.version"] = (1, 0)
    https = environ.get("HTTPS", "").lower() in ("on", "1") or environ.get("REQUEST_SCHEME") == "https"
    environ["wsgi.url_scheme"] = "https" if https else "http"
    environ["wsgi.input"] = Input(pull, int(length) if length and length.isascii() and length.isdigit() else None)
    environ["wsgi.errors"] = errors
    environ["wsgi.multithread"], environ["wsgi.multiprocess"] = flags
    environ["wsgi.run_once"] = False
    # The body ends where CONTENT_LENGTH says, or with the stream when there is none.
    environ["wsgi.input_terminated"] = True
    environ["wsgi.file_wrapper"] = FileWrapper
    return environ
