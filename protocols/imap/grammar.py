"""Tokens of the IMAP command grammar (RFC 3501 section 9, RFC 9051).

Two steps keep the parser simple and correct on partial input:

1. :func:`frame` finds where the first command ends: lines up to LF, and
   after a line ending in ``{n}`` / ``{n+}`` exactly n literal octets,
   then the next line. It is the only place that can say "incomplete", and
   it checks the line and literal limits before anything is buffered.
2. :class:`Reader` reads tokens from a command already known to be
   complete, so every error it reports is a real syntax error, never a
   split in the input.

Leniencies (each matches what deployed clients send and Dovecot accepts):
a bare LF ends a line like CRLF; quoted strings may hold 8-bit bytes (UTF-8,
as RFC 9051 allows); a date-time day may be one digit without its space.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Final, NoReturn, TypeVar

from mailboxes.mutf7 import MailboxNameError, decode_mailbox, decode_utf8_mailbox

from .errors import BadMailboxName, LineTooLong, LiteralTooBig, NeedContinuation, NeedMore, ParseError
from .sequence import MAX_NUMBER, SAVED, STAR, SeqNumber, SequenceArg, SequenceSet

__all__ = [
    "DEFAULT_MAX_LINE",
    "Frame",
    "Framer",
    "Reader",
    "frame",
    "recover_tag",
]

T = TypeVar("T")

DEFAULT_MAX_LINE: Final = 65536
#: RFC 7888 section 4: with only LITERAL- a non-synchronizing literal may
#: carry at most 4096 octets.
LITERAL_MINUS_MAX: Final = 4096
#: Largest mod-sequence value (RFC 7162 section 7: 63-bit unsigned).
MAX_MODSEQ: Final = 2**63 - 1

_CR, _LF, _SP = 0x0D, 0x0A, 0x20

# atom-specials = "(" / ")" / "{" / SP / CTL / list-wildcards / quoted-specials / resp-specials
_ATOM = re.compile(rb'[^(){ \x00-\x1f\x7f%*"\\\]\x80-\xff]+')
# ASTRING-CHAR = ATOM-CHAR / resp-specials
_ASTRING = re.compile(rb'[^(){ \x00-\x1f\x7f%*"\\\x80-\xff]+')
# list-char = ATOM-CHAR / list-wildcards / resp-specials
_LIST_CHARS = re.compile(rb'[^(){ \x00-\x1f\x7f"\\\x80-\xff]+')
# tag = 1*<any ASTRING-CHAR except "+">
_TAG = re.compile(rb'[^(){ \x00-\x1f\x7f%*"\\+\x80-\xff]+')
_DIGITS = re.compile(rb"[0-9]+")
# QUOTED-CHAR = <any TEXT-CHAR except quoted-specials> / "\" quoted-specials
_QUOTED_BODY = re.compile(rb'(?:[^"\\\r\n\x00]|\\["\\])*')
_QUOTED_ESCAPE = re.compile(rb'\\(["\\])')
# seq-number ":" seq-number or a lone seq-number
_SEQ_RANGE = re.compile(rb"([0-9]+|\*)(?::([0-9]+|\*))?")
_DATE = re.compile(rb"([0-9]{1,2})-([A-Za-z]{3})-([0-9]{4})")
_DATE_TIME = re.compile(
    rb"( [0-9]|[0-9]{1,2})-([A-Za-z]{3})-([0-9]{4}) ([0-9]{2}):([0-9]{2}):([0-9]{2}) ([+-])([0-9]{2})([0-9]{2})"
)
MONTHS: Final = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


def recover_tag(buf: bytes | bytearray) -> bytes | None:
    """The tag at the start of ``buf`` if it is well formed and followed by SP."""
    match = _TAG.match(buf)
    if match is None or match.end() >= len(buf) or buf[match.end()] != _SP:
        return None
    return bytes(match.group())


@dataclass(frozen=True, slots=True)
class Frame:
    """Where the first complete command in a buffer ends (after its LF)."""

    end: int


def frame(buf: bytes, *, max_line: int, max_literal: int, literal_plus: bool) -> Frame:
    """Locate the end of the first command, or raise an :class:`Incomplete`
    (a fresh :class:`Framer` run once; see there for the limits)."""
    return Framer(max_line=max_line, literal_plus=literal_plus).advance(buf, max_literal=max_literal)


class Framer:
    """Framing that resumes where the last call stopped.

    A connection keeps one and calls :meth:`advance` with its whole buffer
    after every read, then :meth:`reset` once the command is consumed (or
    refused); each byte is examined O(1) times however the command is split
    across reads (``examined`` counts the bytes searched for a line end,
    for the tests). Limits, checked before the octets are needed:

    * ``max_line``: the command's bytes outside literals (all its lines
      together, line ends included);
    * ``max_literal``: octets of any one literal;
    * ``max_literals``: octets of all the command's literals together, so a
      client cannot make the server buffer without bound by chaining
      literals either (issue 15 item 5).
    """

    __slots__ = ("examined", "literal_end", "literal_plus", "literals", "max_line", "pos", "scanned", "text")

    def __init__(self, *, max_line: int, literal_plus: bool = True) -> None:
        self.max_line = max_line
        self.literal_plus = literal_plus
        self.examined = 0
        self.reset()

    def reset(self) -> None:
        self.pos = 0  # start of the line being framed
        self.scanned = 0  # bytes before this hold no LF of that line
        self.text = 0  # command text outside literals before ``pos``
        self.literals = 0  # literal octets announced so far
        self.literal_end = 0  # where the literal being received ends, if one is

    def advance(self, buf: bytes | bytearray, *, max_literal: int, max_literals: int | None = None) -> Frame:
        total = max_literal if max_literals is None else max_literals
        while True:
            if self.literal_end:
                if len(buf) < self.literal_end:
                    raise NeedMore(self.literal_end)
                self.pos = self.scanned = self.literal_end
                self.literal_end = 0
            pos = self.pos
            budget = self.max_line - self.text
            lo, hi = max(self.scanned, pos), min(len(buf), pos + budget)
            nl = buf.find(b"\n", lo, hi)
            self.examined += (hi if nl < 0 else nl + 1) - lo
            if nl < 0:
                if len(buf) - pos >= budget:
                    raise LineTooLong(recover_tag(buf), self.max_line)
                self.scanned = len(buf)
                raise NeedMore(len(buf) + 1)
            line_end = nl - 1 if nl > pos and buf[nl - 1] == _CR else nl
            literal = _literal_at_end(buf, pos, line_end)
            if literal is None:
                return Frame(nl + 1)
            size, non_sync = literal
            start = nl + 1
            limit = min(max_literal, total - self.literals)
            if non_sync and not self.literal_plus:
                limit = min(limit, LITERAL_MINUS_MAX)
            if size > limit:
                raise LiteralTooBig(recover_tag(buf), size, non_synchronizing=non_sync, consumed=start)
            self.text += start - pos
            self.literals += size
            self.literal_end = start + size
            if len(buf) == start and not non_sync:
                # Also for {0}: the client still waits for "+" before going on.
                # Asked once: the next call waits for the octets.
                raise NeedContinuation(size)


def _literal_at_end(buf: bytes | bytearray, start: int, end: int) -> tuple[int, bool] | None:
    """``(size, non_synchronizing)`` if ``buf[start:end]`` ends with ``{n}``/``{n+}``."""
    if end - start < 3 or buf[end - 1] != 0x7D:  # "}"
        return None
    brace = buf.rfind(b"{", start, end - 1)
    if brace < 0:
        return None
    inner = buf[brace + 1 : end - 1]
    non_sync = inner.endswith(b"+")
    digits = inner[:-1] if non_sync else inner
    if not digits or _DIGITS.fullmatch(digits) is None:
        return None
    digits = digits.lstrip(b"0") or b"0"
    # Python refuses to convert very long digit strings; anything this long
    # is far over every limit anyway.
    size = int(digits) if len(digits) <= 20 else 10**20
    return size, non_sync


class Reader:
    """Reads grammar tokens from one complete command ``buf[:end]``."""

    __slots__ = ("buf", "end", "pos", "tag", "utf8")

    def __init__(self, buf: bytes, end: int, *, utf8: bool = False) -> None:
        self.buf = buf
        self.end = end
        self.pos = 0
        self.tag: bytes | None = None
        #: The session sent ENABLE UTF8=ACCEPT (RFC 6855): mailbox names are UTF-8.
        self.utf8 = utf8

    # -- errors and lookahead -------------------------------------------

    def error(self, message: str) -> ParseError:
        return ParseError(self.tag, message, self.end)

    def fail(self, message: str) -> NoReturn:
        raise self.error(message)

    def peek(self) -> int:
        """The next byte, or -1 at the end of the command."""
        return self.buf[self.pos] if self.pos < self.end else -1

    def at_eol(self) -> bool:
        return self.peek() in (_CR, _LF)

    def at(self, char: bytes) -> bool:
        return self.peek() == char[0]

    def peek_word(self, word: bytes) -> bool:
        """Whether the next atom equals ``word`` (ASCII case-insensitive)."""
        match = _ASTRING.match(self.buf, self.pos, self.end)
        return match is not None and match.group().upper() == word

    # -- punctuation ------------------------------------------------------

    def sp(self) -> None:
        if self.peek() != _SP:
            self.fail("Expected a space")
        self.pos += 1

    def maybe_sp(self) -> bool:
        if self.peek() == _SP:
            self.pos += 1
            return True
        return False

    def char(self, char: bytes) -> None:
        if self.peek() != char[0]:
            self.fail("Expected " + repr(char.decode("ascii")))
        self.pos += 1

    def maybe_char(self, char: bytes) -> bool:
        if self.peek() == char[0]:
            self.pos += 1
            return True
        return False

    def keyword(self, word: bytes) -> None:
        """Consume ``word`` case-insensitively (RFC 3501 section 9, note 3)."""
        stop = self.pos + len(word)
        if stop > self.end or self.buf[self.pos : stop].upper() != word:
            self.fail("Expected " + word.decode("ascii"))
        self.pos = stop

    def eol(self) -> None:
        """The command must end here (CRLF or bare LF)."""
        self.maybe_char(b"\r")
        if self.peek() != _LF or self.pos + 1 != self.end:
            self.fail("Unexpected characters at end of command")
        self.pos += 1

    def paren_list(self, item: Callable[[], T], *, allow_empty: bool = True) -> list[T]:
        """``"(" [item *(SP item)] ")"``."""
        self.char(b"(")
        items: list[T] = []
        if self.maybe_char(b")"):
            if not allow_empty:
                self.fail("Empty list")
            return items
        items.append(item())
        while self.maybe_sp():
            items.append(item())
        self.char(b")")
        return items

    # -- atoms and numbers ------------------------------------------------

    def match_token(self, pattern: re.Pattern[bytes], what: str) -> bytes:
        match = pattern.match(self.buf, self.pos, self.end)
        if match is None:
            self.fail("Expected " + what)
        self.pos = match.end()
        return match.group()

    def read_tag(self) -> bytes:
        return self.match_token(_TAG, "a tag")

    def atom(self) -> bytes:
        return self.match_token(_ATOM, "an atom")

    def word(self) -> str:
        """An atom upper-cased, for keywords like command names."""
        return self.atom().decode("ascii").upper()

    def number(self, *, nonzero: bool = False, limit: int = MAX_NUMBER) -> int:
        digits = self.match_token(_DIGITS, "a number")
        if len(digits) > 20 or int(digits) > limit:
            self.fail("Number out of range")
        value = int(digits)
        if nonzero and value == 0:
            self.fail("Zero is not allowed here")
        return value

    def modseq(self, *, nonzero: bool = False) -> int:
        # mod-sequence-value = 1*DIGIT, 63-bit (RFC 7162 section 7)
        return self.number(nonzero=nonzero, limit=MAX_MODSEQ)

    # -- strings ----------------------------------------------------------

    def quoted(self) -> bytes:
        self.char(b'"')
        match = _QUOTED_BODY.match(self.buf, self.pos, self.end)
        assert match is not None  # the pattern matches the empty string
        self.pos = match.end()
        self.char(b'"')
        return _QUOTED_ESCAPE.sub(rb"\1", match.group())

    def literal(self) -> bytes:
        # frame() has checked that the octets are all there.
        self.char(b"{")
        size = self.number(limit=2**64)
        self.maybe_char(b"+")
        self.char(b"}")
        self.maybe_char(b"\r")
        self.char(b"\n")
        stop = self.pos + size
        if stop > self.end:  # only reachable if a line end was mis-framed
            self.fail("Literal runs past the end of the command")
        data = self.buf[self.pos : stop]
        self.pos = stop
        return data

    def literal8(self) -> bytes:
        """``literal8 = "~{" number ["+"] "}" CRLF *OCTET`` (RFC 3516, RFC 4466):
        any octet, NUL included. Only APPEND takes one."""
        self.char(b"~")
        return self.literal()

    def string(self) -> bytes:
        first = self.peek()
        if first == 0x22:  # '"'
            return self.quoted()
        if first == 0x7B:  # "{"
            return self.literal()
        self.fail("Expected a string")

    def astring(self) -> bytes:
        if self.peek() in (0x22, 0x7B):
            return self.string()
        if self.buf.startswith(b"~{", self.pos, self.end):
            self.fail("A literal8 is allowed only in APPEND")
        return self.match_token(_ASTRING, "a string")

    def nstring(self) -> bytes | None:
        if self.peek() in (0x22, 0x7B):
            return self.string()
        self.keyword(b"NIL")
        return None

    def text_astring(self, what: str = "text") -> str:
        """An astring decoded as UTF-8 (logins, search strings)."""
        return self.decode_utf8(self.astring(), what)

    def decode_utf8(self, data: bytes, what: str) -> str:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            self.fail("Invalid UTF-8 in " + what)

    # -- mailboxes ----------------------------------------------------------

    def mailbox(self) -> str:
        """``mailbox = "INBOX" / astring``, decoded from modified UTF-7, or
        from UTF-8 once the session enabled UTF8=ACCEPT (RFC 6855 3);
        :class:`BadMailboxName` (answered NO) if it is not valid in it."""
        data = self.astring()
        try:
            name = decode_utf8_mailbox(data) if self.utf8 else decode_mailbox(data)
        except MailboxNameError:
            raise BadMailboxName(self.tag, "Invalid mailbox name encoding", self.end) from None
        # RFC 3501 5.1: "The case-insensitive mailbox name INBOX is a special
        # name reserved to mean 'the primary mailbox for this user'".
        if name.upper() == "INBOX":
            return "INBOX"
        return name

    def list_mailbox(self) -> str:
        """``list-mailbox = 1*list-char / string``; wildcards stay as they are.
        A pattern that is not valid modified UTF-7 is taken as written: it
        matches no mailbox, and LIST answers OK (as Dovecot does)."""
        if self.peek() in (0x22, 0x7B):
            data = self.string()
        else:
            data = self.match_token(_LIST_CHARS, "a mailbox pattern")
        try:
            return decode_utf8_mailbox(data) if self.utf8 else decode_mailbox(data)
        except MailboxNameError:
            return data.decode("utf-8", "replace")

    # -- flags --------------------------------------------------------------

    def flag(self) -> str:
        """A flag: system flags canonicalised, keywords kept as sent."""
        if self.maybe_char(b"\\"):
            name = self.atom().decode("ascii")
            return "\\" + SYSTEM_FLAGS.get(name.upper(), name)
        return self.atom().decode("ascii")

    def flag_list(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.paren_list(self.flag)))

    # -- dates --------------------------------------------------------------

    def date(self) -> date:
        """``date = date-text / DQUOTE date-text DQUOTE`` (SEARCH keys)."""
        quoted = self.maybe_char(b'"')
        match = _DATE.match(self.buf, self.pos, self.end)
        if match is None:
            self.fail("Expected a date")
        self.pos = match.end()
        if quoted:
            self.char(b'"')
        day, month, year = match.groups()
        try:
            return date(int(year), _month(month), int(day))
        except ValueError:
            self.fail("Invalid date")

    def date_time(self) -> datetime:
        """``date-time`` as in APPEND, e.g. ``"17-Jul-1996 02:44:25 -0700"``."""
        self.char(b'"')
        match = _DATE_TIME.match(self.buf, self.pos, self.end)
        if match is None:
            self.fail("Expected a date-time")
        self.pos = match.end()
        self.char(b'"')
        day, month, year, hh, mm, ss, sign, zh, zm = match.groups()
        try:
            if int(zm) > 59:
                raise ValueError("zone minutes")
            offset = timedelta(hours=int(zh), minutes=int(zm))
            zone = timezone(-offset if sign == b"-" else offset)
            return datetime(int(year), _month(month), int(day), int(hh), int(mm), int(ss), tzinfo=zone)
        except ValueError:
            self.fail("Invalid date-time")

    # -- sequence sets --------------------------------------------------------

    def sequence_arg(self) -> SequenceArg:
        """A sequence set or, alone, RFC 5182's ``$`` (seq-last-command)."""
        if self.maybe_char(b"$"):
            if self.peek() in (0x2C, 0x3A):  # "," ":" -- "$" is a whole set, never a part
                self.fail('"$" must stand alone')
            return SAVED
        return self.sequence_set()

    def sequence_set(self) -> SequenceSet:
        """Numbers only: where ``$`` is not allowed (QRESYNC's known sets)."""
        if self.at(b"$"):
            self.fail('"$" is not allowed here')
        ranges = [self._seq_range()]
        while self.maybe_char(b","):
            ranges.append(self._seq_range())
        return SequenceSet(tuple(ranges))

    def _seq_range(self) -> tuple[SeqNumber, SeqNumber]:
        match = _SEQ_RANGE.match(self.buf, self.pos, self.end)
        if match is None:
            self.fail("Expected a sequence set")
        self.pos = match.end()
        first = self._seq_number(match.group(1))
        second = first if match.group(2) is None else self._seq_number(match.group(2))
        return first, second

    def _seq_number(self, text: bytes) -> SeqNumber:
        if text == b"*":
            return STAR
        if len(text) > 10 or not 0 < int(text) <= MAX_NUMBER:
            self.fail("Sequence number out of range")
        return int(text)


# RFC 3501 2.3.2 system flags; matched case-insensitively, sent canonically.
SYSTEM_FLAGS: Final = {name.upper(): name for name in ("Answered", "Flagged", "Deleted", "Seen", "Draft", "Recent")}


def _month(text: bytes) -> int:
    try:
        return MONTHS.index(text.decode("ascii").upper()) + 1
    except ValueError:
        raise ValueError("month") from None
