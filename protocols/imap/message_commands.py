"""Parsers for the commands on the selected mailbox's messages (RFC 3501 6.4).

EXPUNGE and UID EXPUNGE, SEARCH, SORT, FETCH, STORE, COPY and MOVE, with
their extensions (see the implementation notes in :mod:`.parser`). Each
function reads the arguments after the command name from a
:class:`.grammar.Reader` and returns the typed command; the line end is
checked by the caller.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final, TypeAlias

from . import commands as c
from .errors import BadCharset, ParseError
from .fetch import MACROS, FetchAttribute, parse_fetch_attribute
from .grammar import Reader
from .search import SearchKey, parse_search_keys

__all__ = [
    "CommandParser",
    "copy_or_move",
    "parse_cancelupdate",
    "parse_expunge",
    "parse_fetch",
    "parse_search",
    "parse_sort",
    "parse_store",
    "parse_thread",
]

#: Reads a command's arguments: (reader, tag, uid) -> command.
CommandParser: TypeAlias = Callable[[Reader, bytes, bool], c.Command]


def parse_expunge(r: Reader, tag: bytes, uid: bool) -> c.Command:
    if not uid:
        return c.Expunge(tag=tag)
    r.sp()
    return c.Expunge(tag=tag, uids=r.sequence_arg())


_CHARSETS: Final = frozenset({"UTF-8", "US-ASCII"})


def _charset(r: Reader) -> str:
    charset = r.decode_utf8(r.astring(), "charset").upper()
    if charset not in _CHARSETS:
        raise BadCharset(r.tag, "Unsupported charset", r.end)
    return charset


# RFC 4731 3.1, plus SAVE (RFC 5182 2.1), UPDATE and PARTIAL (RFC 5267 4.1).
_ESEARCH_OPTIONS: Final = frozenset({"MIN", "MAX", "COUNT", "ALL", "SAVE", "UPDATE", "PARTIAL"})
# RFC 5267 3.2 (ESORT) and 4.1 (CONTEXT=SORT); SAVE is SEARCH's alone here.
_ESORT_OPTIONS: Final = frozenset({"MIN", "MAX", "COUNT", "ALL", "UPDATE", "PARTIAL"})


def _return_options(
    r: Reader, allowed: frozenset[str], what: str, seen: list[str]
) -> tuple[frozenset[str], tuple[int, int] | None]:
    """``RETURN (option ...)``: the options (``()`` is ALL) and PARTIAL's
    range, low first (RFC 5267 4.4: ``partial-range = number ":" number``).
    ``seen`` gets every option word read, even when the list is refused."""
    r.keyword(b"RETURN")
    r.sp()
    partial: tuple[int, int] | None = None

    def option() -> str:
        nonlocal partial
        word = r.word()
        seen.append(word)
        if word == "PARTIAL" and partial is None and "PARTIAL" in allowed:
            r.sp()
            low = r.number(nonzero=True)
            r.char(b":")
            high = r.number(nonzero=True)
            partial = (min(low, high), max(low, high))
        return word

    returns = frozenset(r.paren_list(option)) or frozenset({"ALL"})
    if not returns <= allowed or seen.count("PARTIAL") > 1:
        r.fail(f"Unknown {what} return option")
    if partial is not None and "ALL" in returns:
        r.fail("PARTIAL and ALL exclude each other")  # RFC 5267 4.4
    return returns, partial


def parse_search(r: Reader, tag: bytes, uid: bool) -> c.Command:
    # RFC 4731: search = "SEARCH" [search-return-opts] SP search-criteria
    # RFC 3501: search = "SEARCH" [SP "CHARSET" SP astring] 1*(SP search-key)
    r.sp()
    returns: frozenset[str] | None = None
    partial: tuple[int, int] | None = None
    if r.peek_word(b"RETURN"):
        seen: list[str] = []
        try:
            returns, partial = _return_options(r, _ESEARCH_OPTIONS, "SEARCH", seen)
            r.sp()
            return _search_rest(r, tag, uid, returns, partial)
        except ParseError as error:
            # RFC 5182 2.1: a SEARCH with SAVE answered NO or BAD empties "$".
            error.empties_saved = "SAVE" in seen
            raise
    return _search_rest(r, tag, uid, returns, partial)


def _search_rest(
    r: Reader, tag: bytes, uid: bool, returns: frozenset[str] | None, partial: tuple[int, int] | None
) -> c.Command:
    charset = None
    if r.peek_word(b"CHARSET"):
        if r.utf8:
            # RFC 6855 3: a client that enabled UTF8=ACCEPT sends no charset.
            r.fail("No CHARSET after ENABLE UTF8=ACCEPT")
        r.keyword(b"CHARSET")
        r.sp()
        charset = _charset(r)
        r.sp()
    criteria = parse_search_keys(r)
    return c.Search(tag=tag, uid=uid, charset=charset, criteria=criteria, returns=returns, partial=partial)


_SORT_KEYS: Final = frozenset({"ARRIVAL", "CC", "DATE", "FROM", "SIZE", "SUBJECT", "TO", "DISPLAYFROM", "DISPLAYTO"})


def parse_sort(r: Reader, tag: bytes, uid: bool) -> c.Command:
    # RFC 5256: sort = ["UID" SP] "SORT" SP sort-criteria SP search-charset 1*(SP search-key)
    # RFC 5267: sort =/ ["UID" SP] "SORT" SP "RETURN" SP "(" [return-opts] ")" SP sort-criteria ...
    r.sp()
    returns: frozenset[str] | None = None
    partial: tuple[int, int] | None = None
    if r.peek_word(b"RETURN"):
        returns, partial = _return_options(r, _ESORT_OPTIONS, "SORT", [])
        r.sp()

    def criterion() -> c.SortKey:
        word = r.word()
        reverse = word == "REVERSE"
        if reverse:
            r.sp()
            word = r.word()
        if word not in _SORT_KEYS:
            r.fail("Unknown sort criterion")
        return c.SortKey(word, reverse)  # type: ignore[arg-type]

    keys = tuple(r.paren_list(criterion, allow_empty=False))
    r.sp()
    charset = _charset(r)
    r.sp()
    criteria: SearchKey = parse_search_keys(r)
    return c.Sort(tag=tag, uid=uid, keys=keys, charset=charset, criteria=criteria, returns=returns, partial=partial)


def parse_cancelupdate(r: Reader, tag: bytes, uid: bool) -> c.Command:
    # RFC 5267 4.2: cancelupdate = "CANCELUPDATE" 1*(SP tag-string)
    tags: list[bytes] = []
    while r.maybe_sp():
        tags.append(r.string())
    if not tags:
        r.fail("CANCELUPDATE needs a tag")
    return c.CancelUpdate(tag=tag, tags=tuple(tags))


_THREAD_ALGORITHMS: Final = frozenset({"REFERENCES", "ORDEREDSUBJECT"})


def parse_thread(r: Reader, tag: bytes, uid: bool) -> c.Command:
    # RFC 5256: thread = ["UID" SP] "THREAD" SP thread-alg SP search-charset 1*(SP search-key)
    r.sp()
    algorithm = r.word()
    if algorithm not in _THREAD_ALGORITHMS:
        r.fail("Unknown threading algorithm")
    r.sp()
    charset = _charset(r)
    r.sp()
    criteria: SearchKey = parse_search_keys(r)
    return c.Thread(tag=tag, uid=uid, algorithm=algorithm, charset=charset, criteria=criteria)  # type: ignore[arg-type]


def parse_fetch(r: Reader, tag: bytes, uid: bool) -> c.Command:
    # fetch = "FETCH" SP sequence-set SP ("ALL" / "FULL" / "FAST" /
    #         fetch-att / "(" fetch-att *(SP fetch-att) ")") [fetch-modifiers]
    r.sp()
    seqs = r.sequence_arg()
    r.sp()
    attrs: list[FetchAttribute]
    if r.at(b"("):
        attrs = r.paren_list(lambda: parse_fetch_attribute(r), allow_empty=False)
    else:
        macro = next((m for m in MACROS if r.peek_word(m.encode())), None)
        if macro is not None:
            r.keyword(macro.encode())
            attrs = [FetchAttribute(name) for name in MACROS[macro]]
        else:
            attrs = [parse_fetch_attribute(r)]
    changedsince: int | None = None
    vanished = False
    if r.maybe_sp():
        # RFC 7162 section 7: fetch-modifier = chgsince-fetch-mod / "VANISHED"
        def modifier() -> None:
            nonlocal changedsince, vanished
            word = r.word()
            if word == "CHANGEDSINCE" and changedsince is None:
                r.sp()
                changedsince = r.modseq(nonzero=True)
            elif word == "VANISHED" and not vanished:
                vanished = True
            else:
                r.fail("Unknown or repeated FETCH modifier")

        r.paren_list(modifier, allow_empty=False)
    if vanished and (not uid or changedsince is None):
        # RFC 7162 3.2.6: VANISHED only in UID FETCH, and only with CHANGEDSINCE.
        r.fail("VANISHED needs UID FETCH with CHANGEDSINCE")
    if uid:
        attrs.append(FetchAttribute("UID"))
    if changedsince is not None:
        attrs.append(FetchAttribute("MODSEQ"))
    return c.Fetch(
        tag=tag,
        uid=uid,
        sequence_set=seqs,
        attributes=tuple(dict.fromkeys(attrs)),
        changedsince=changedsince,
        vanished=vanished,
    )


_STORE_ITEM: Final = re.compile(rb"([+-]?)FLAGS(\.SILENT)?", re.IGNORECASE)
_STORE_MODES: Final = {b"": "replace", b"+": "add", b"-": "remove"}


def parse_store(r: Reader, tag: bytes, uid: bool) -> c.Command:
    # store = "STORE" SP sequence-set [SP store-modifiers] SP store-att-flags
    # store-att-flags = (["+" / "-"] "FLAGS" [".SILENT"]) SP (flag-list / (flag *(SP flag)))
    r.sp()
    seqs = r.sequence_arg()
    r.sp()
    unchangedsince: int | None = None
    if r.at(b"("):
        # RFC 7162 section 7: store-modifier =/ "UNCHANGEDSINCE" SP mod-sequence-valzer
        r.char(b"(")
        r.keyword(b"UNCHANGEDSINCE")
        r.sp()
        unchangedsince = r.modseq()
        r.char(b")")
        r.sp()
    match = _STORE_ITEM.match(r.buf, r.pos, r.end)
    if match is None:
        r.fail("Expected FLAGS, +FLAGS or -FLAGS")
    r.pos = match.end()
    r.sp()
    if r.at(b"("):
        flags = r.flag_list()
    else:
        items = [r.flag()]
        while r.maybe_sp():
            items.append(r.flag())
        flags = tuple(dict.fromkeys(items))
    return c.Store(
        tag=tag,
        uid=uid,
        sequence_set=seqs,
        mode=_STORE_MODES[match.group(1)],  # type: ignore[arg-type]
        silent=match.group(2) is not None,
        flags=flags,
        unchangedsince=unchangedsince,
    )


def copy_or_move(cls: type[c.Copy | c.Move]) -> CommandParser:
    def parse(r: Reader, tag: bytes, uid: bool) -> c.Command:
        r.sp()
        seqs = r.sequence_arg()
        r.sp()
        return cls(tag=tag, uid=uid, sequence_set=seqs, mailbox=r.mailbox())

    return parse
