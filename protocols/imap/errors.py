"""What the IMAP command parser raises instead of returning a command.

Every outcome other than "here is a command" is one of these, all derived
from :class:`ParseSignal`, so a connection can tell them apart with one
``except`` chain and nothing else can escape the parser:

* :class:`NeedMore` / :class:`NeedContinuation`: the buffer does not yet
  hold a whole command. Read more bytes (after sending ``+ Ready`` for the
  latter) and parse again from the same start.
* :class:`ParseError`: the command is complete but malformed. Answer
  ``tag BAD message`` (or ``* BAD`` when no tag could be recovered) and drop
  ``consumed`` bytes: that count covers the whole command *including* its
  literals, so literal octets can never be mistaken for a new command.
* :class:`BadCharset`: a ParseError the server answers with
  ``NO [BADCHARSET (UTF-8 US-ASCII)]`` (RFC 3501 section 6.4.4).
* :class:`BadMailboxName`: a ParseError the server answers with
  ``NO [CANNOT]``: the grammar allows the name, modified UTF-7 does not.
* :class:`LiteralTooBig`: a literal announces more octets than allowed,
  raised as soon as the ``{n}`` CRLF has arrived and before any octet of it.
* :class:`LineTooLong`: more than the allowed number of bytes without a
  line end; the connection refuses the command and drains (or disconnects).

The ``message`` of every error is a fixed, client-safe English phrase that
never echoes client input, so a connection may put it on the wire.
"""

from __future__ import annotations

__all__ = [
    "BadCharset",
    "BadMailboxName",
    "Incomplete",
    "LineTooLong",
    "LiteralTooBig",
    "NeedContinuation",
    "NeedMore",
    "ParseError",
    "ParseSignal",
]


class ParseSignal(Exception):
    """Base of everything :func:`parse_command` raises."""


class Incomplete(ParseSignal):
    """The buffer does not yet hold a whole command (either subclass)."""


class NeedMore(Incomplete):
    """The buffer ends inside a command; read more bytes and parse again.

    ``at_least`` is the buffer length below which parsing again cannot
    succeed (the end of a literal whose octets are still arriving, else one
    more byte), so a connection receiving a large literal need not re-frame
    the command for every chunk.
    """

    def __init__(self, at_least: int = 0) -> None:
        super().__init__(at_least)
        self.at_least = at_least


class NeedContinuation(Incomplete):
    """The buffer ends right after a synchronizing literal's ``{n}`` CRLF.

    The connection sends a continuation request (``+ Ready``) and reads on.
    It is raised only when *no* octet of the literal has arrived yet, so
    parsing again after more bytes came in never asks twice for the same
    literal (RFC 3501 section 7.5).
    """

    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


class ParseError(ParseSignal):
    """A complete command that does not follow the grammar.

    ``tag`` is the command's tag when it could be recovered, ``consumed``
    the number of bytes at the start of the buffer that belong to the bad
    command (through its final line end, literals included), or ``None`` if
    the parser could not tell; then discard through the next line end.
    """

    #: True for :class:`BadCharset`, which is answered NO, not BAD.
    bad_charset: bool = False
    #: The response code of an error answered NO, not BAD (the subclasses).
    no_code: str | None = None
    #: A SEARCH with RETURN (SAVE): answering it empties "$" (RFC 5182 2.1).
    empties_saved: bool = False

    def __init__(self, tag: bytes | None, message: str, consumed: int | None = None) -> None:
        super().__init__(tag, message)
        self.tag = tag
        self.message = message
        self.consumed = consumed

    def __str__(self) -> str:
        return self.message


class BadCharset(ParseError):
    """SEARCH or SORT named a charset other than UTF-8 or US-ASCII.

    Answer ``tag NO [BADCHARSET (UTF-8 US-ASCII)] ...`` (RFC 3501 6.4.4).
    """

    bad_charset = True
    no_code = "BADCHARSET (UTF-8 US-ASCII)"


class BadMailboxName(ParseError):
    """A mailbox name that RFC 3501's grammar allows (an astring) but that
    is not valid modified UTF-7 (5.1.3), e.g. ``&'``: no mailbox can have
    it, so the command is answered ``NO [CANNOT]``, not BAD (a client
    must be able to tell a name we refuse from a command we cannot read).
    """

    no_code = "CANNOT"


class LiteralTooBig(ParseSignal):
    """A literal announced more octets than the connection accepts.

    ``consumed`` counts the bytes through the literal's ``{n}`` CRLF. For a
    synchronizing literal the client has not sent (and will not send) the
    octets: answer ``tag NO [TOOBIG]`` (RFC 7889 / RFC 4469 style) and drop
    ``consumed`` bytes. For a non-synchronizing one (``{n+}``, RFC 7888) the
    octets are on their way: answer ``tag BAD [TOOBIG]`` and then either
    discard ``size`` octets plus the rest of the command or close the
    connection; never parse those octets as commands.
    """

    def __init__(self, tag: bytes | None, size: int, *, non_synchronizing: bool, consumed: int) -> None:
        super().__init__(tag, size)
        self.tag = tag
        self.size = size
        self.non_synchronizing = non_synchronizing
        self.consumed = consumed
        self.message = "Literal too big"

    def __str__(self) -> str:
        return self.message


class LineTooLong(ParseSignal):
    """More than ``max_line`` bytes of command text without its end.

    The buffer may be arbitrarily far from a line end, so the connection
    answers ``tag BAD`` (or ``* BAD``), then discards input through the next
    line end, or closes the connection.
    """

    def __init__(self, tag: bytes | None, limit: int) -> None:
        super().__init__(tag, limit)
        self.tag = tag
        self.limit = limit
        self.message = "Command line too long"

    def __str__(self) -> str:
        return self.message
