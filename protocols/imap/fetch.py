"""FETCH data items (RFC 3501 section 6.4.5, RFC 3516 BINARY, RFC 7162 MODSEQ,
RFC 8970 PREVIEW, RFC 8474 EMAILID and THREADID, RFC 8514 SAVEDATE).

Each requested item is a :class:`FetchAttribute`; it knows the name its
response carries (:meth:`FetchAttribute.response_name`) and whether
fetching it sets ``\\Seen``. The macros ALL, FAST and FULL are expanded by
the parser and never appear here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

from .grammar import Reader

__all__ = ["FetchAttribute", "Section", "SectionText", "parse_fetch_attribute", "parse_section", "MACROS"]

SectionText = Literal["HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT", "TEXT", "MIME"]

_SIMPLE: Final = frozenset(
    {
        "FLAGS",
        "INTERNALDATE",
        "RFC822.SIZE",
        "ENVELOPE",
        "BODYSTRUCTURE",
        "UID",
        "MODSEQ",
        "RFC822",
        "RFC822.HEADER",
        "RFC822.TEXT",
        "EMAILID",
        "THREADID",
        "SAVEDATE",
    }
)
#: RFC 3501 6.4.5 macros, in the order the RFC lists their items.
MACROS: Final = {
    "ALL": ("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"),
    "FAST": ("FLAGS", "INTERNALDATE", "RFC822.SIZE"),
    "FULL": ("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"),
}
# The item name up to "[" (or the end of the atom): "BODY.PEEK", "BINARY.SIZE", ...
_ITEM_NAME = re.compile(rb"[A-Za-z0-9.]+")
_HEADER_ATOM = re.compile(rb'[^(){ \x00-\x1f\x7f%*"\\\]\x80-\xff]+')


@dataclass(frozen=True, slots=True)
class Section:
    """A body section: ``1.2.HEADER.FIELDS (FROM TO)`` is
    ``Section(part=(1, 2), text="HEADER.FIELDS", headers=("FROM", "TO"))``.

    ``part=()`` is the whole message; ``text=None`` the whole part. Header
    names keep the case the client sent, because the response must echo the
    request; compare them case-insensitively.
    """

    part: tuple[int, ...] = ()
    text: SectionText | None = None
    headers: tuple[str, ...] = ()

    def render(self) -> bytes:
        spec = ".".join(str(n) for n in self.part)
        if self.text is not None:
            spec = f"{spec}.{self.text}" if spec else self.text
        out = spec.encode("ascii")
        if self.text in ("HEADER.FIELDS", "HEADER.FIELDS.NOT"):
            out += b" (" + b" ".join(_render_header_name(h) for h in self.headers) + b")"
        return out


def _render_header_name(name: str) -> bytes:
    raw = name.encode("ascii")
    if _HEADER_ATOM.fullmatch(raw):
        return raw
    return b'"' + raw.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


@dataclass(frozen=True, slots=True)
class FetchAttribute:
    """One FETCH data item.

    ``name`` is the item without PEEK: ``FLAGS``, ``INTERNALDATE``,
    ``RFC822.SIZE``, ``ENVELOPE``, ``BODYSTRUCTURE``, ``UID``, ``MODSEQ``,
    ``RFC822``, ``RFC822.HEADER``, ``RFC822.TEXT``, ``BODY`` (with
    ``section=None`` the non-extensible structure, else ``BODY[...]``),
    ``BINARY``, ``BINARY.SIZE`` or ``PREVIEW``. ``partial`` is ``(origin, length)``.
    """

    name: str
    section: Section | None = None
    partial: tuple[int, int] | None = None
    peek: bool = False
    #: PREVIEW (LAZY) (RFC 8970 3.2); the response name is PREVIEW either way.
    lazy: bool = False

    @property
    def sets_seen(self) -> bool:
        """RFC 3501 6.4.5: BODY[...] and RFC822(.TEXT) set \\Seen; PEEK does not."""
        if self.name in ("RFC822", "RFC822.TEXT"):
            return True
        return self.name in ("BODY", "BINARY") and self.section is not None and not self.peek

    def response_name(self) -> bytes:
        """The item's name in the FETCH response.

        RFC 3501 7.4.2: the response drops ``.PEEK`` and gives only the
        origin octet of a partial fetch: ``BODY.PEEK[HEADER]<0.100>`` is
        answered as ``BODY[HEADER]<0>``.
        """
        out = self.name.encode("ascii")
        if self.section is not None:
            out += b"[" + self.section.render() + b"]"
        if self.partial is not None:
            out += b"<%d>" % self.partial[0]
        return out

    def request_text(self) -> bytes:
        """The item as a client would write it (for logs and tests)."""
        name = self.name
        if self.peek:
            name += ".PEEK"
        out = name.encode("ascii")
        if self.section is not None:
            out += b"[" + self.section.render() + b"]"
        if self.partial is not None:
            out += b"<%d.%d>" % self.partial
        if self.lazy:
            out += b" (LAZY)"
        return out


def _preview_modifiers(r: Reader) -> bool:
    """``"PREVIEW" [SP "(" preview-mod *(SP preview-mod) ")"]`` with
    ``preview-mod = "LAZY"`` (RFC 8970 7); True when LAZY is given."""
    if not (r.at(b" (") and r.pos + 2 < r.end and r.buf[r.pos + 2] in b"Ll"):
        return False
    r.sp()
    mods = r.paren_list(lambda: r.word(), allow_empty=False)
    if any(mod != "LAZY" for mod in mods):
        r.fail("Unknown PREVIEW modifier")
    return True


def parse_fetch_attribute(r: Reader) -> FetchAttribute:
    """``fetch-att`` (RFC 3501 section 9, RFC 3516, RFC 7162)."""
    raw = r.match_token(_ITEM_NAME, "a fetch item")
    name = raw.decode("ascii").upper()
    if name in _SIMPLE:
        return FetchAttribute(name)
    if name == "PREVIEW":
        return FetchAttribute(name, lazy=_preview_modifiers(r))
    peek = name.endswith(".PEEK")
    base = name[:-5] if peek else name
    if base == "BODY":
        if not r.at(b"["):
            if peek:
                r.fail("BODY.PEEK needs a section")
            return FetchAttribute("BODY")
        section = _section(r)
        return FetchAttribute("BODY", section, _partial(r), peek)
    if base == "BINARY" or (name == "BINARY.SIZE"):
        # RFC 3516: section-binary = "[" [section-part] "]"
        r.char(b"[")
        part = _section_part(r) if not r.at(b"]") else ()
        r.char(b"]")
        if name == "BINARY.SIZE":
            return FetchAttribute(name, Section(part))
        return FetchAttribute("BINARY", Section(part), _partial(r), peek)
    r.fail("Unknown fetch item")


def parse_section(spec: bytes) -> Section:
    """A section-spec on its own (an IMAP URL's ``;SECTION=``, RFC 5092),
    e.g. ``b"1.HEADER"``; ParseError if it is not one."""
    buf = b"[" + spec + b"]"
    r = Reader(buf, len(buf))
    section = _section(r)
    if r.pos != r.end:
        r.fail("Junk after the section")
    return section


def _section(r: Reader) -> Section:
    """``section = "[" [section-spec] "]"``."""
    r.char(b"[")
    if r.maybe_char(b"]"):
        return Section()
    part: tuple[int, ...] = ()
    if 0x30 <= r.peek() <= 0x39:
        part = _section_part(r)
        if not r.maybe_char(b"."):
            r.char(b"]")
            return Section(part)
    word = r.match_token(_ITEM_NAME, "a section name").decode("ascii").upper()
    if word == "MIME":
        # RFC 3501 section 9: section-text "MIME" only after a part number.
        if not part:
            r.fail("MIME needs a part number")
        r.char(b"]")
        return Section(part, "MIME")
    if word in ("HEADER", "TEXT"):
        r.char(b"]")
        return Section(part, word)  # type: ignore[arg-type]
    if word in ("HEADER.FIELDS", "HEADER.FIELDS.NOT"):
        r.sp()
        headers = r.paren_list(lambda: r.astring().decode("ascii", "replace"), allow_empty=False)
        if any(not h or "\ufffd" in h for h in headers):
            r.fail("Invalid header field name")
        r.char(b"]")
        return Section(part, word, tuple(headers))  # type: ignore[arg-type]
    r.fail("Unknown section")


def _section_part(r: Reader) -> tuple[int, ...]:
    """``section-part = nz-number *("." nz-number)``; stops before ``.TEXT`` etc."""
    numbers = [r.number(nonzero=True)]
    while r.at(b".") and 0x30 <= _byte_after(r) <= 0x39:
        r.char(b".")
        numbers.append(r.number(nonzero=True))
    return tuple(numbers)


def _byte_after(r: Reader) -> int:
    return r.buf[r.pos + 1] if r.pos + 1 < r.end else -1


def _partial(r: Reader) -> tuple[int, int] | None:
    """``"<" number "." nz-number ">"``."""
    if not r.maybe_char(b"<"):
        return None
    origin = r.number()
    r.char(b".")
    length = r.number(nonzero=True)
    r.char(b">")
    return origin, length
