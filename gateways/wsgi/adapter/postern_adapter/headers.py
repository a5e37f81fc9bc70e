"""Checks of what an application hands start_response (PEP 3333, "The
start_response() Callable"), and the CGI head they become on FCGI_STDOUT
(RFC 3875 §6.3): errors are raised here, inside start_response, so that the
application's traceback shows where the bad value came from.
"""

import re


class HeaderError(ValueError):
    """A status or header that cannot be sent."""


# RFC 9110 §15: three digits, then the reason phrase after one space (PEP 3333
# asks for it; the phrase may be empty), no other control character than HTAB.
_STATUS = re.compile(r"[1-9][0-9][0-9](?: [\t\x20-\x7e\x80-\xff]*)?\Z")
# RFC 9110 §5.1: field-name = token.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
# RFC 9110 §5.5: field-value = VCHAR, SP, HTAB and obs-text (bytes 0x80-0xff,
# one latin-1 char each); a CR or LF would end the field (CWE-113).
_VALUE = re.compile(r"[\t\x20-\x7e\x80-\xff]*\Z")

# RFC 9110 §7.6.1 (and RFC 2616 §13.5.1's list, as wsgiref has it): these
# are for one connection, which the server owns. PEP 3333: "servers should
# check for errors in the headers supplied to start_response, raising an
# error if ... the application supplies a hop-by-hop header".
HOP_BY_HOP = frozenset(
    ("connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te", "trailer", "trailers", "transfer-encoding", "upgrade")
)


def check_status(status):
    """PEP 3333: a native str, "200 OK"."""
    if type(status) is not str:
        raise HeaderError("status must be a str (PEP 3333), not %s: %r" % (type(status).__name__, status))
    if not _STATUS.match(status):
        raise HeaderError("status %r is not a 3-digit code and a reason phrase of latin-1 text (PEP 3333)" % status)


def check_headers(headers):
    """PEP 3333: a list of (name, value) tuples of native str, latin-1, no CR or LF, no hop-by-hop field."""
    for item in headers:
        if type(item) is not tuple or len(item) != 2:
            raise HeaderError("each header must be a (name, value) tuple (PEP 3333), not %r" % (item,))
        name, value = item
        if type(name) is not str or type(value) is not str:
            raise HeaderError("header name and value must be str (PEP 3333), not %r" % (item,))
        if not _TOKEN.match(name):
            raise HeaderError("bad header name %r (RFC 9110 §5.1)" % name)
        if not _VALUE.match(value):
            raise HeaderError("bad value of header %s: %r: latin-1 text without control characters (PEP 3333, RFC 9110 §5.5)" % (name, value))
        lower = name.lower()
        if lower in HOP_BY_HOP:
            raise HeaderError("hop-by-hop header %s from the application; the server owns the connection (PEP 3333)" % name)
        if lower == "status":
            # RFC 3875 §6.3.3: the CGI head's own Status field, which the adapter writes.
            raise HeaderError("a header named Status; give the status to start_response (PEP 3333)")


def content_length(headers):
    """The body length a Content-Length field gives, None without one or when it is not a plain number (postern refuses that answer)."""
    for name, value in headers:
        if len(name) == 14 and name.lower() == "content-length":
            value = value.strip()
            return int(value) if value.isascii() and value.isdigit() else None
    return None


def cgi_head(status, headers):
    """The CGI head (RFC 3875 §6.3): Status, the application's fields, the blank line; latin-1 bytes."""
    lines = ["Status: ", status, "\r\n"]
    for name, value in headers:
        lines += (name, ": ", value, "\r\n")
    lines.append("\r\n")
    return "".join(lines).encode("latin-1")
