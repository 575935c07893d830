"""IRC messages: parsing and serialising lines with IRCv3 message tags.

Pure: no I/O. The grammar follows modern.ircdocs.horse and the IRCv3
message-tags specification; atoms are separated by one or more spaces, as the
ircdocs parser-tests vectors expect.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = [
    "Message",
    "ParseError",
    "escape_tag_value",
    "parse",
    "serialize",
    "unescape_tag_value",
]


class ParseError(ValueError):
    """A line that is not an IRC message (empty, or tags/source with no verb)."""


_UNESCAPES = {":": ";", "s": " ", "\\": "\\", "r": "\r", "n": "\n"}
_ESCAPES = {";": "\\:", " ": "\\s", "\\": "\\\\", "\r": "\\r", "\n": "\\n"}
_ESCAPE_TABLE = str.maketrans(_ESCAPES)


def unescape_tag_value(value: str) -> str:
    """Undo IRCv3 tag-value escaping; an unknown escape drops the backslash,
    a trailing lone backslash is dropped."""
    if "\\" not in value:
        return value
    out: list[str] = []
    i = 0
    n = len(value)
    while i < n:
        ch = value[i]
        if ch == "\\":
            i += 1
            if i < n:
                nxt = value[i]
                out.append(_UNESCAPES.get(nxt, nxt))
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def escape_tag_value(value: str) -> str:
    """Escape a tag value for the wire."""
    return value.translate(_ESCAPE_TABLE)


class Message:
    """One IRC message. ``tags`` maps names to values ("" for a tag without a
    value); ``source`` is None when the line has none; ``verb`` keeps the case
    it had on the wire (use :attr:`command` for the upper-cased form)."""

    __slots__ = ("params", "source", "tags", "verb")

    tags: dict[str, str]
    source: str | None
    verb: str
    params: list[str]

    def __init__(
        self,
        verb: str,
        params: Sequence[str] = (),
        source: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        self.verb = verb
        self.params = list(params)
        self.source = source
        self.tags = dict(tags) if tags else {}

    @property
    def command(self) -> str:
        return self.verb.upper()

    def param(self, index: int, default: str = "") -> str:
        """The parameter at ``index``, or ``default`` when there are fewer."""
        params = self.params
        return params[index] if -len(params) <= index < len(params) else default

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Message):
            return NotImplemented
        return (
            self.verb == other.verb
            and self.params == other.params
            and self.source == other.source
            and self.tags == other.tags
        )

    def __hash__(self) -> int:
        return hash((self.verb, tuple(self.params), self.source))

    def __repr__(self) -> str:
        return (
            f"Message(verb={self.verb!r}, params={self.params!r}, "
            f"source={self.source!r}, tags={self.tags!r})"
        )

    def to_line(self) -> str:
        return serialize(self)


def _parse_tags(raw: str) -> dict[str, str]:
    tags: dict[str, str] = {}
    for item in raw.split(";"):
        if not item:
            continue
        key, sep, value = item.partition("=")
        tags[key] = unescape_tag_value(value) if sep else ""
    return tags


def _message(verb: str, params: list[str], source: str | None, tags: dict[str, str]) -> Message:
    """A Message from parts the parser owns (no defensive copies)."""
    msg = _new_message(Message)
    msg.verb = verb
    msg.params = params
    msg.source = source
    msg.tags = tags
    return msg


_new_message = object.__new__


def parse(line: str) -> Message:
    """Parse one line (without its CR/LF) into a :class:`Message`.

    Raises :class:`ParseError` for a line with no verb."""
    if line.endswith("\n"):
        line = line.rstrip("\r\n")
    tags: dict[str, str] = {}
    source: str | None = None
    rest = line.lstrip(" ") if line.startswith(" ") else line
    if rest.startswith("@"):
        raw_tags, _, rest = rest[1:].partition(" ")
        tags = _parse_tags(raw_tags)
        rest = rest.lstrip(" ")
    if rest.startswith(":"):
        source, _, rest = rest[1:].partition(" ")
        rest = rest.lstrip(" ")
    head, sep, trailing = rest.partition(" :")
    if not sep and head.startswith(":"):
        # only a trailing parameter would remain: a line like ":src :x" has no verb
        raise ParseError("no command in line")
    # only ASCII space separates atoms: a tab or other whitespace is data
    words = head.split(" ")
    if "" in words:
        words = [word for word in words if word]
        if not words:
            raise ParseError("no command in line" if line.strip(" ") else "empty line")
    verb = words[0]
    del words[0]
    if sep:
        words.append(trailing)
    return _message(verb, words, source, tags)


def serialize(msg: Message) -> str:
    """Serialise a message to a line without CR/LF. The last parameter is sent
    as a trailing parameter when it needs to be (empty, starts with ':' or
    contains a space)."""
    parts: list[str] = []
    if msg.tags:
        parts.append(
            "@"
            + ";".join(
                f"{key}={escape_tag_value(value)}" if value else key
                for key, value in msg.tags.items()
            )
        )
    if msg.source:
        parts.append(":" + msg.source)
    parts.append(msg.verb)
    params = msg.params
    if params:
        parts.extend(params[:-1])
        last = params[-1]
        if not last or last.startswith(":") or " " in last:
            parts.append(":" + last)
        else:
            parts.append(last)
    return " ".join(parts)
