"""FastCGI 1.0 records for a Responder application (FastCGI spec §3.3, §3.4, §4, §5, §8).

Records are read out of large reads with struct.unpack_from, and written as
whole byte strings, so that a small answer is one send.
"""

import struct

VERSION = 1  # §8 FCGI_VERSION_1

# Record types (§8).
BEGIN_REQUEST = 1
ABORT_REQUEST = 2
END_REQUEST = 3
PARAMS = 4
STDIN = 5
STDOUT = 6
STDERR = 7
GET_VALUES = 9
GET_VALUES_RESULT = 10
UNKNOWN_TYPE = 11

RESPONDER = 1  # §6.2, the only role served
KEEP_CONN = 1  # §5.1: the flag that keeps the connection open after the request

# protocolStatus of FCGI_EndRequestBody (§5.5).
REQUEST_COMPLETE = 0
CANT_MPX_CONN = 1
UNKNOWN_ROLE = 3

MAX_CONTENT = 65535  # §3.3: contentLength is two bytes
HEADER = struct.Struct(">BBHHBx")  # §3.3 FCGI_Header
END_BODY = struct.Struct(">IB3x")  # §5.5 FCGI_EndRequestBody
READ_SIZE = 65536  # below glibc's mmap threshold: a read's buffer costs no mmap/munmap

_pack_header = HEADER.pack
_unpack_header = HEADER.unpack_from


class ProtocolError(Exception):
    """The peer broke the record framing; the connection cannot be trusted further."""


class RecordReader:
    """Records out of a connection's byte stream, chunked anywhere."""

    __slots__ = ("_sock", "_buf", "_pos")

    def __init__(self, sock):
        self._sock = sock
        self._buf = b""
        self._pos = 0

    def next(self):
        """(type, request id, content) of the next record; None at a clean end of the stream."""
        buf = self._buf
        pos = self._pos
        while True:
            if len(buf) - pos >= 8:
                version, rtype, rid, clen, plen = _unpack_header(buf, pos)
                if version != VERSION:
                    raise ProtocolError("FastCGI record version %d, not 1 (FastCGI spec §3.3)" % version)
                end = pos + 8 + clen
                if len(buf) >= end + plen:
                    self._buf = buf
                    self._pos = end + plen  # §3.3: padding is ignored
                    return rtype, rid, buf[pos + 8:end]
            more = self._sock.recv(READ_SIZE)
            if not more:
                self._buf = b""
                self._pos = 0
                if len(buf) > pos:
                    raise ProtocolError("connection closed inside a FastCGI record (FastCGI spec §3.3)")
                return None
            buf = buf[pos:] + more if pos < len(buf) else more
            pos = 0


def stream(rtype, rid, data):
    """data as stream records (§3.3) of at most 65535 bytes each, unpadded (padding is a recommendation)."""
    n = len(data)
    if n <= MAX_CONTENT:
        return _pack_header(VERSION, rtype, rid, n, 0) + data
    view = memoryview(data)
    parts = []
    for start in range(0, n, MAX_CONTENT):
        piece = view[start:start + MAX_CONTENT]
        parts.append(_pack_header(VERSION, rtype, rid, len(piece), 0))
        parts.append(piece)
    return b"".join(parts)


def stream_end(rtype, rid):
    """The empty record that ends a stream (§3.3)."""
    return _pack_header(VERSION, rtype, rid, 0, 0)


def end_request(rid, protocol_status=REQUEST_COMPLETE, app_status=0):
    """FCGI_END_REQUEST (§5.5)."""
    return _pack_header(VERSION, END_REQUEST, rid, 8, 0) + END_BODY.pack(app_status, protocol_status)


def unknown_type(rtype):
    """FCGI_UNKNOWN_TYPE, the answer to a management record not understood (§4.2)."""
    return _pack_header(VERSION, UNKNOWN_TYPE, 0, 8, 0) + bytes((rtype, 0, 0, 0, 0, 0, 0, 0))


def decode_pairs(data):
    """Name-value pairs (§3.4) as a dict of str, each decoded latin-1: one char per byte (PEP 3333)."""
    try:
        return _decode_pairs(data)
    except IndexError:
        raise ProtocolError("FastCGI name-value pairs cut short (FastCGI spec §3.4)") from None


def _decode_pairs(data):
    text = data.decode("latin-1")  # latin-1 maps byte i to char i, so byte offsets index the text
    pairs = {}
    at = 0
    end = len(data)
    while at < end:
        nlen = data[at]
        vlen = data[at + 1]
        if nlen < 0x80 and vlen < 0x80:
            at += 2  # the usual case: both lengths in one byte
        else:
            if nlen < 0x80:
                at += 1
            else:
                nlen = ((nlen & 0x7F) << 24) | (data[at + 1] << 16) | (data[at + 2] << 8) | data[at + 3]
                at += 4
            vlen = data[at]
            if vlen < 0x80:
                at += 1
            else:
                vlen = ((vlen & 0x7F) << 24) | (data[at + 1] << 16) | (data[at + 2] << 8) | data[at + 3]
                at += 4
        mid = at + nlen
        at = mid + vlen
        pairs[text[mid - nlen:mid]] = text[mid:at]
    if at > end:
        raise ProtocolError("FastCGI name-value pairs cut short (FastCGI spec §3.4)")
    return pairs


def encode_pairs(pairs):
    """Name-value pairs (§3.4) of ASCII names and values."""
    out = bytearray()
    for name, value in pairs:
        for item in (name, value):
            n = len(item)
            out += bytes((n,)) if n < 0x80 else struct.pack(">I", n | 0x80000000)
        out += name.encode("ascii") + value.encode("ascii")
    return bytes(out)


def management_answer(rtype, content, max_conns):
    """The answer to a management record (requestId 0, §4): FCGI_GET_VALUES_RESULT (§4.1) or FCGI_UNKNOWN_TYPE (§4.2)."""
    if rtype != GET_VALUES:
        return unknown_type(rtype)
    known = {"FCGI_MAX_CONNS": str(max_conns), "FCGI_MAX_REQS": str(max_conns), "FCGI_MPXS_CONNS": "0"}
    asked = decode_pairs(content)
    body = encode_pairs((name, known[name]) for name in asked if name in known)
    return _pack_header(VERSION, GET_VALUES_RESULT, 0, len(body), 0) + body
