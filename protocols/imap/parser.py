"""IMAP command parser: bytes in, one typed command out. No I/O.

Implementation notes
--------------------

* Entry point: :func:`parse_command`. It parses the first command in a
  buffer and returns it with the number of bytes it used, or raises one of
  the :mod:`.errors` signals. A connection appends what it reads and calls
  again from the start of its buffer, passing its :class:`.grammar.Framer`,
  which remembers how far the command is framed: each byte is framed once
  and the command copied and parsed once, when it is complete.
* Framing comes first (:func:`.grammar.frame`): find the command's last line
  end, stepping over literals. Only framing can say "incomplete", so a
  prefix of a valid command never yields a ParseError or a wrong command,
  and a ParseError always reports how many bytes (literals included) to
  drop: literal octets are never re-read as commands.
* Limits are checked in framing, before any octet is needed: ``max_line``
  bytes of command text outside literals (LineTooLong), ``max_literal``
  octets per literal and ``max_literals`` for all of them (LiteralTooBig). With ``literal_plus=False`` the
  server is taken to offer LITERAL- (RFC 7888 section 4): ``{n+}`` is
  accepted up to 4096 octets.
* The parser knows syntax, not state: whether a command is allowed now
  (e.g. FETCH before SELECT) is for the session's state table, keyed by
  the command class or its ``name``. The lines a client sends inside
  AUTHENTICATE and IDLE are not commands: the connection reads them as
  lines and uses :func:`decode_sasl_response` / :func:`is_idle_done`.
* Supported: RFC 3501 in full, plus UIDPLUS (UID EXPUNGE), UNSELECT, IDLE,
  NAMESPACE, ID, ENABLE, SASL-IR, LITERAL+/LITERAL-, MOVE, CONDSTORE and
  QRESYNC (SELECT/EXAMINE parameters, FETCH CHANGEDSINCE/VANISHED, STORE
  UNCHANGEDSINCE, SEARCH MODSEQ), ESEARCH return options (RFC 4731),
  SEARCHRES (RFC 5182: ``RETURN (SAVE)`` and ``$`` as a whole sequence
  set wherever one may be, except QRESYNC's known sets), SORT and THREAD
  (RFC 5256, plus DISPLAYFROM/DISPLAYTO of RFC 5957 and ESORT's
  ``RETURN (...)`` of RFC 5267), LIST-EXTENDED
  (RFC 5258), LIST-STATUS (RFC 5819), SPECIAL-USE (RFC 6154, also CREATE
  USE), BINARY (RFC 3516: the fetch items, and APPEND with a literal8
  ``~{n}`` / ``~{n+}``, which may hold NUL), QUOTA (RFC 9208, parsed only).
* MULTIAPPEND (RFC 3502): APPEND takes one or more messages.
* UTF8=ACCEPT (RFC 6855), with ``utf8=True`` (after ENABLE): UTF-8 mailbox
  names and patterns instead of modified UTF-7, ``APPEND ... UTF8
  (literal8)``, and SEARCH CHARSET refused; without it those are BAD.
* CATENATE (RFC 4469): an APPEND message may be ``CATENATE (TEXT
  literal / URL astring ...)``; the URLs are parsed when the command runs.
* URLAUTH (RFC 4467): GENURLAUTH, URLFETCH, RESETKEY; the URLs are
  parsed when the command runs.
* Not supported (ParseError): a literal8 anywhere but APPEND's message
  and CATENATE's TEXT.
* Deliberate leniencies: see :mod:`.grammar` (bare LF, 8-bit quoted
  strings, one-digit date-time days); search strings are read as UTF-8 even
  without CHARSET, since US-ASCII is a subset.
"""

from __future__ import annotations

import base64
import binascii
from typing import Final

from mailboxes.mutf7 import decode_mailbox, encode_mailbox

from . import commands as c
from .errors import (
    BadCharset,
    Incomplete,
    LineTooLong,
    LiteralTooBig,
    NeedContinuation,
    NeedMore,
    ParseError,
    ParseSignal,
)
from .ext_commands import (
    catenate_parts,
    parse_genurlauth,
    parse_getmetadata,
    parse_notify,
    parse_resetkey,
    parse_setmetadata,
    parse_urlfetch,
    utf8_append_data,
)
from .grammar import DEFAULT_MAX_LINE, Framer, Reader
from .message_commands import (
    CommandParser,
    copy_or_move,
    parse_cancelupdate,
    parse_expunge,
    parse_fetch,
    parse_search,
    parse_sort,
    parse_store,
    parse_thread,
)
from .sequence import SequenceSet

__all__ = [
    "BadCharset",
    "Incomplete",
    "LineTooLong",
    "LiteralTooBig",
    "NeedContinuation",
    "NeedMore",
    "ParseError",
    "ParseSignal",
    "decode_mailbox",
    "decode_sasl_response",
    "encode_mailbox",
    "is_idle_done",
    "parse_command",
]


def parse_command(
    buf: bytes | bytearray,
    *,
    literal_plus: bool = True,
    max_literal: int,
    max_literals: int | None = None,
    max_line: int = DEFAULT_MAX_LINE,
    framer: Framer | None = None,
    utf8: bool = False,
) -> tuple[c.Command, int]:
    """Parse the first command in ``buf``; return it and the bytes it used.

    ``max_literals`` caps the octets of all the command's literals together
    (default: ``max_literal``). A connection passes its own ``framer`` so
    that framing resumes where the last call stopped (and resets it once
    the command is consumed); without one the buffer is framed afresh.
    ``utf8``: the session enabled UTF8=ACCEPT (RFC 6855), so mailbox names
    are UTF-8, APPEND takes ``UTF8 (literal8)`` and SEARCH no CHARSET.

    Raises :class:`NeedMore`, :class:`NeedContinuation`,
    :class:`LiteralTooBig`, :class:`LineTooLong`, :class:`ParseError` or
    :class:`BadCharset`, and nothing else.
    """
    if framer is None:
        framer = Framer(max_line=max_line, literal_plus=literal_plus)
    end = framer.advance(buf, max_literal=max_literal, max_literals=max_literals).end
    r = Reader(bytes(buf[:end]), end, utf8=utf8)
    if r.at_eol():
        r.fail("Empty command line")
    r.tag = r.read_tag()
    r.sp()
    name = r.word()
    uid = False
    if name == "UID":
        uid = True
        r.sp()
        name = r.word()
        parse = _UID_COMMANDS.get(name)
    else:
        parse = _COMMANDS.get(name)
    if parse is None:
        r.fail("Unknown command")
    command = parse(r, r.tag, uid)
    r.eol()
    return command, end


def is_idle_done(line: bytes) -> bool:
    """Whether ``line`` is the ``DONE`` that ends IDLE (RFC 2177), with its line end."""
    return line.rstrip(b"\r\n").upper() == b"DONE" and line.endswith(b"\n") and line.count(b"\n") == 1


def decode_sasl_response(line: bytes) -> bytes | None:
    """Decode one client line of an AUTHENTICATE exchange (RFC 3501 6.2.2).

    Returns the decoded response, or None when the client cancels with
    ``*``. Raises :class:`ParseError` (without tag) for bad base64.
    """
    text = line.rstrip(b"\r\n")
    if text == b"*":
        return None
    return _base64(text, None)


def _base64(text: bytes, tag: bytes | None) -> bytes:
    try:
        data = base64.b64decode(text, validate=True)
    except binascii.Error:
        raise ParseError(tag, "Invalid base64") from None
    # Only the canonical form: b64decode lets stray padding through.
    if base64.b64encode(data) != text:
        raise ParseError(tag, "Invalid base64")
    return data


# -- commands without arguments ---------------------------------------------


def _bare(cls: type[c.Command]) -> CommandParser:
    return lambda r, tag, uid: cls(tag=tag)


# -- any state and not authenticated ----------------------------------------


def _authenticate(r: Reader, tag: bytes, uid: bool) -> c.Command:
    r.sp()
    mechanism = r.word()
    initial: bytes | None = None
    if r.maybe_sp():
        # RFC 4959: initial-resp = (base64 / "=")
        raw = r.atom()
        try:
            initial = b"" if raw == b"=" else _base64(raw, tag)
        except ParseError:
            r.fail("Invalid base64")
    return c.Authenticate(tag=tag, mechanism=mechanism, initial_response=initial)


def _login(r: Reader, tag: bytes, uid: bool) -> c.Command:
    r.sp()
    user = r.text_astring("user name")
    r.sp()
    password = r.text_astring("password")
    return c.Login(tag=tag, username=user, password=password)


def _compress(r: Reader, tag: bytes, uid: bool) -> c.Command:
    # RFC 4978 4: compress = "COMPRESS" SP algorithm; any atom, so an
    # unknown one can be answered NO by the handler.
    r.sp()
    return c.Compress(tag=tag, mechanism=r.word())


def _enable(r: Reader, tag: bytes, uid: bool) -> c.Command:
    caps = []
    while r.maybe_sp():
        caps.append(r.word())
    if not caps:  # RFC 5161: enable = "ENABLE" 1*(SP capability)
        r.fail("ENABLE needs a capability")
    return c.Enable(tag=tag, capabilities=tuple(caps))


def _id(r: Reader, tag: bytes, uid: bool) -> c.Command:
    # RFC 2971: id-params-list = "(" *(string SP nstring) ")" / nil
    r.sp()
    if not r.at(b"("):
        r.keyword(b"NIL")
        return c.Id(tag=tag, params=None)

    def pair() -> tuple[str, str | None]:
        key = r.decode_utf8(r.string(), "ID field")
        r.sp()
        value = r.nstring()
        return key, None if value is None else r.decode_utf8(value, "ID value")

    return c.Id(tag=tag, params=tuple(r.paren_list(pair)))


# -- authenticated ---------------------------------------------------------


def _one_mailbox(cls: type[c.Delete | c.Subscribe | c.Unsubscribe | c.GetQuotaRoot]) -> CommandParser:
    def parse(r: Reader, tag: bytes, uid: bool) -> c.Command:
        r.sp()
        return cls(tag=tag, mailbox=r.mailbox())

    return parse


def _select(readonly: bool) -> CommandParser:
    def parse(r: Reader, tag: bytes, uid: bool) -> c.Command:
        r.sp()
        mailbox = r.mailbox()
        condstore = False
        qresync: c.QResync | None = None
        if r.maybe_sp():
            # RFC 4466 select-params = "(" select-param *(SP select-param) ")"
            def param() -> None:
                nonlocal condstore, qresync
                word = r.word()
                if word == "CONDSTORE" and not condstore:
                    condstore = True
                elif word == "QRESYNC" and qresync is None:
                    r.sp()
                    qresync = _qresync(r)
                else:
                    r.fail("Unknown or repeated SELECT parameter")

            r.paren_list(param, allow_empty=False)
        return c.Select(tag=tag, mailbox=mailbox, readonly=readonly, condstore=condstore, qresync=qresync)

    return parse


def _qresync(r: Reader) -> c.QResync:
    # "(" uidvalidity SP mod-sequence-value [SP known-uids]
    #     [SP seq-match-data] ")"                       (RFC 7162 section 7)
    # seq-match-data = "(" known-sequence-set SP known-uid-set ")"; in all
    # three sets "*" is not allowed.
    r.char(b"(")
    uidvalidity = r.number(nonzero=True)
    r.sp()
    modseq = r.modseq(nonzero=True)
    known: SequenceSet | None = None
    match: tuple[SequenceSet, SequenceSet] | None = None
    more = r.maybe_sp()
    if more and not r.at(b"("):
        known = _known_set(r)
        more = r.maybe_sp()
    if more:
        r.char(b"(")
        seqs = _known_set(r)
        r.sp()
        uids = _known_set(r)
        r.char(b")")
        match = (seqs, uids)
    r.char(b")")
    return c.QResync(uidvalidity, modseq, known, match)


def _known_set(r: Reader) -> SequenceSet:
    numbers = r.sequence_set()
    if numbers.uses_star:
        r.fail('"*" is not allowed in QRESYNC sets')
    return numbers


# RFC 6154 section 2: the special-use attributes a client may ask for.
_SPECIAL_USE: Final = {
    name.upper(): name for name in ("\\All", "\\Archive", "\\Drafts", "\\Flagged", "\\Junk", "\\Sent", "\\Trash")
}


def _create(r: Reader, tag: bytes, uid: bool) -> c.Command:
    r.sp()
    mailbox = r.mailbox()
    uses: list[str] = []
    if r.maybe_sp():
        # RFC 6154 section 6: create-param = "USE" SP "(" [use-attr *(SP use-attr)] ")"
        r.char(b"(")
        r.keyword(b"USE")
        r.sp()
        uses = r.paren_list(r.flag)
        r.char(b")")
        for i, use in enumerate(uses):
            canonical = _SPECIAL_USE.get(use.upper())
            if canonical is None:
                r.fail("Unknown special-use attribute")
            uses[i] = canonical
    return c.Create(tag=tag, mailbox=mailbox, special_use=tuple(dict.fromkeys(uses)))


def _rename(r: Reader, tag: bytes, uid: bool) -> c.Command:
    r.sp()
    old = r.mailbox()
    r.sp()
    return c.Rename(tag=tag, mailbox=old, new_name=r.mailbox())


_SELECT_OPTIONS: Final = frozenset({"SUBSCRIBED", "REMOTE", "RECURSIVEMATCH", "SPECIAL-USE"})
_STATUS_ITEMS: Final = frozenset(
    {"MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "HIGHESTMODSEQ", "SIZE", "DELETED", "MAILBOXID"}
)


def _status_items(r: Reader) -> tuple[str, ...]:
    def item() -> str:
        word = r.word()
        if word not in _STATUS_ITEMS:
            r.fail("Unknown STATUS item")
        return word

    return tuple(dict.fromkeys(r.paren_list(item, allow_empty=False)))


def _list(r: Reader, tag: bytes, uid: bool) -> c.Command:
    # RFC 5258: list = "LIST" [SP list-select-opts] SP mailbox SP mbox-or-pat
    #                  [SP list-return-opts]
    r.sp()
    extended = False
    selection: frozenset[str] = frozenset()
    if r.at(b"("):
        extended = True
        selection = frozenset(r.paren_list(r.word))
        if not selection <= _SELECT_OPTIONS:
            # RFC 5258 section 3: unknown selection options MUST be rejected.
            r.fail("Unknown LIST selection option")
        if "RECURSIVEMATCH" in selection and not selection - {"RECURSIVEMATCH", "REMOTE"}:
            # RFC 5258 section 3: RECURSIVEMATCH alone (or with only REMOTE,
            # which it cannot modify) MUST be rejected with BAD.
            r.fail("RECURSIVEMATCH needs another selection option")
        r.sp()
    reference = r.mailbox()
    r.sp()
    if r.at(b"("):
        extended = True
        patterns = tuple(r.paren_list(r.list_mailbox, allow_empty=False))
    else:
        patterns = (r.list_mailbox(),)
    returns = c.ListReturn()
    if r.maybe_sp():
        extended = True
        returns = _list_return(r)
    return c.List(
        tag=tag, reference=reference, patterns=patterns, selection=selection, returns=returns, extended=extended
    )


def _list_return(r: Reader) -> c.ListReturn:
    r.keyword(b"RETURN")
    r.sp()
    options = {"CHILDREN": False, "SUBSCRIBED": False, "SPECIAL-USE": False}
    status: tuple[str, ...] | None = None

    def option() -> None:
        nonlocal status
        word = r.word()
        if word in options:
            options[word] = True
        elif word == "STATUS" and status is None:
            r.sp()
            status = _status_items(r)  # RFC 5819
        else:
            r.fail("Unknown LIST return option")

    r.paren_list(option)
    return c.ListReturn(options["CHILDREN"], options["SUBSCRIBED"], options["SPECIAL-USE"], status)


def _lsub(r: Reader, tag: bytes, uid: bool) -> c.Command:
    r.sp()
    reference = r.mailbox()
    r.sp()
    return c.Lsub(tag=tag, reference=reference, pattern=r.list_mailbox())


def _status(r: Reader, tag: bytes, uid: bool) -> c.Command:
    r.sp()
    mailbox = r.mailbox()
    r.sp()
    return c.Status(tag=tag, mailbox=mailbox, items=_status_items(r))


def _append(r: Reader, tag: bytes, uid: bool) -> c.Command:
    # append = "APPEND" SP mailbox 1*append-message (RFC 3502 6, MULTIAPPEND)
    # append-message = [SP flag-list] [SP date-time] SP (literal / literal8)
    # (RFC 3516 4.4 and section 5, RFC 4466 append-data: literal8 may hold NUL)
    r.sp()
    mailbox = r.mailbox()
    messages = [_append_message(r)]
    while r.at(b" "):
        messages.append(_append_message(r))
    first, *more = messages
    return c.Append(
        tag=tag,
        mailbox=mailbox,
        flags=first.flags,
        internal_date=first.internal_date,
        message=first.message,
        more=tuple(more),
        catenate=first.catenate,
    )


def _append_message(r: Reader) -> c.AppendMessage:
    """``[flag-list SP] [date-time SP] (literal / literal8)``, after its SP."""
    r.sp()
    flags: tuple[str, ...] = ()
    if r.at(b"("):
        flags = r.flag_list()
        r.sp()
    date = None
    if r.at(b'"'):
        date = r.date_time()
        r.sp()
    if r.peek_word(b"CATENATE"):
        return c.AppendMessage(flags=flags, internal_date=date, message=b"", catenate=catenate_parts(r))
    if r.peek_word(b"UTF8"):
        message = utf8_append_data(r)
    elif r.at(b"~"):
        message = r.literal8()
    elif r.at(b"{"):
        message = r.literal()
    else:
        r.fail("APPEND needs a literal")
    return c.AppendMessage(flags=flags, internal_date=date, message=message)


def _getquota(r: Reader, tag: bytes, uid: bool) -> c.Command:
    r.sp()
    return c.GetQuota(tag=tag, root=r.decode_utf8(r.astring(), "quota root"))


def _setquota(r: Reader, tag: bytes, uid: bool) -> c.Command:
    # RFC 9208: setquota = "SETQUOTA" SP quota-root-name SP setquota-list
    r.sp()
    root = r.decode_utf8(r.astring(), "quota root")
    r.sp()

    def resource() -> tuple[str, int]:
        name = r.word()
        r.sp()
        return name, r.modseq()  # resource-limit = number64

    return c.SetQuota(tag=tag, root=root, limits=tuple(r.paren_list(resource)))


# One table, so what the parser knows is visible in one place.
_COMMANDS: Final[dict[str, CommandParser]] = {
    "CAPABILITY": _bare(c.Capability),
    "NOOP": _bare(c.Noop),
    "LOGOUT": _bare(c.Logout),
    "STARTTLS": _bare(c.StartTLS),
    "AUTHENTICATE": _authenticate,
    "LOGIN": _login,
    "ENABLE": _enable,
    "COMPRESS": _compress,
    "ID": _id,
    "SELECT": _select(readonly=False),
    "EXAMINE": _select(readonly=True),
    "CREATE": _create,
    "DELETE": _one_mailbox(c.Delete),
    "RENAME": _rename,
    "SUBSCRIBE": _one_mailbox(c.Subscribe),
    "UNSUBSCRIBE": _one_mailbox(c.Unsubscribe),
    "LIST": _list,
    "LSUB": _lsub,
    "STATUS": _status,
    "APPEND": _append,
    "NAMESPACE": _bare(c.Namespace),
    "IDLE": _bare(c.Idle),
    "GETQUOTA": _getquota,
    "GETQUOTAROOT": _one_mailbox(c.GetQuotaRoot),
    "SETQUOTA": _setquota,
    "GETMETADATA": parse_getmetadata,
    "SETMETADATA": parse_setmetadata,
    "GENURLAUTH": parse_genurlauth,
    "NOTIFY": parse_notify,
    "URLFETCH": parse_urlfetch,
    "RESETKEY": parse_resetkey,
    "CHECK": _bare(c.Check),
    "CLOSE": _bare(c.Close),
    "UNSELECT": _bare(c.Unselect),
    "EXPUNGE": parse_expunge,
    "SEARCH": parse_search,
    "SORT": parse_sort,
    "THREAD": parse_thread,
    "CANCELUPDATE": parse_cancelupdate,
    "FETCH": parse_fetch,
    "STORE": parse_store,
    "COPY": copy_or_move(c.Copy),
    "MOVE": copy_or_move(c.Move),
}
# RFC 3501 6.4.8 (plus UIDPLUS EXPUNGE, SORT, THREAD and MOVE).
_UID_COMMANDS: Final = {
    name: _COMMANDS[name] for name in ("COPY", "MOVE", "FETCH", "SEARCH", "SORT", "STORE", "EXPUNGE", "THREAD")
}
