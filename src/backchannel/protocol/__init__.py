"""The IRC protocol, pure: messages, framing, hostmasks. No I/O, no clock."""

from backchannel.protocol.framing import MAX_LINE_BYTES, LineFramer, decode_line
from backchannel.protocol.hostmask import Hostmask, match_mask, split_hostmask
from backchannel.protocol.message import Message, ParseError, parse, serialize

__all__ = [
    "MAX_LINE_BYTES",
    "Hostmask",
    "LineFramer",
    "Message",
    "ParseError",
    "decode_line",
    "match_mask",
    "parse",
    "serialize",
    "split_hostmask",
]
