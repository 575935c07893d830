"""Framing: a byte stream from an IRC server becomes text lines.

Pure: no I/O. Lines end with CRLF or a bare LF; a partial line stays buffered
until its end arrives; a line longer than the limit is truncated to the limit
(less the word the cut splits, so a cut NAMES reply holds only whole nicks)
and the rest of it discarded, so memory stays bounded whatever the peer sends;
bytes that are not UTF-8 are decoded with a fallback and never raise.
"""

from __future__ import annotations

import codecs

__all__ = ["MAX_LINE_BYTES", "LineFramer", "decode_line"]

#: 8191 bytes of tags (IRCv3 message-tags) plus the 512 bytes of an RFC message.
MAX_LINE_BYTES = 8191 + 512


def _latin1_for_undefined(exc: UnicodeError) -> tuple[str, int]:
    # cp1252 leaves five bytes undefined; read those as latin-1 so decoding
    # can never fail.
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return exc.object[exc.start : exc.end].decode("latin-1"), exc.end


codecs.register_error("backchannel-latin1", _latin1_for_undefined)


def decode_line(raw: bytes) -> str:
    """UTF-8 when the bytes are valid UTF-8, else Windows-1252 (the usual
    legacy IRC encoding), with latin-1 for the bytes it leaves undefined."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="backchannel-latin1")


#: the longest split word a cut drops (nicks, channel names and hosts are shorter)
MAX_CUT_WORD = 256


def _decode_cut(raw: bytes, following: int) -> str:
    """Decode a line cut at the limit (``following`` is the first byte cut
    off). A short word split by the cut (a nick in a NAMES reply, say) is
    dropped when a space precedes it; a long one is kept, so a message of
    one giant word keeps its text. A cut inside a UTF-8 character drops that
    partial character, rather than reading the whole line as cp1252."""
    if following != 0x20:
        space = raw.rfind(b" ", max(0, len(raw) - MAX_CUT_WORD))
        if space > 0:
            raw = raw[:space]
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(raw, final=False)
    except UnicodeDecodeError:
        text = ""
    return text or decode_line(raw)


class LineFramer:
    """Splits a byte stream into decoded lines.

    ``feed`` returns the complete lines found so far. ``truncated`` counts the
    lines that were cut to ``max_line`` bytes."""

    __slots__ = ("_buf", "_discarding", "max_line", "truncated")

    def __init__(self, max_line: int = MAX_LINE_BYTES) -> None:
        if max_line < 1:
            raise ValueError("max_line must be positive")
        self.max_line = max_line
        self._buf = b""
        self._discarding = False
        self.truncated = 0

    @property
    def pending(self) -> int:
        """Bytes held for a line whose end has not arrived yet."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[str]:
        buf = self._buf + data if self._buf else data
        lines: list[str] = []
        start = 0
        max_line = self.max_line
        while True:
            end = buf.find(b"\n", start)
            if end < 0:
                break
            if self._discarding:
                self._discarding = False
            else:
                stop = end - 1 if end > start and buf[end - 1] == 13 else end
                if stop - start > max_line:
                    lines.append(_decode_cut(buf[start : start + max_line], buf[start + max_line]))
                    self.truncated += 1
                elif stop > start:
                    lines.append(decode_line(buf[start:stop]))
            start = end + 1
        rest = buf[start:]
        if self._discarding:
            rest = b""
        elif len(rest) > max_line:
            # an over-long line: deliver what fits now, drop the rest up to its end
            lines.append(_decode_cut(rest[:max_line], rest[max_line]))
            self.truncated += 1
            self._discarding = True
            rest = b""
        self._buf = rest
        return lines
