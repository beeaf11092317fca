"""Header fields: charsets, RFC 2047 words, RFC 2231 parameters, addresses, the envelope.

Pure (stdlib only, no I/O), used by ``mailboxes.mime``; nothing here raises
on any ``str`` input.

Each address is ``[name, adl, mailbox, host]`` as RFC 3501 7.4.2 wants it:
names and local parts keep their raw form (RFC 2047 encoded words are NOT
decoded; a quoted-string display name loses its quotes and backslashes, a
quoted local part keeps them). Group syntax (RFC 5322 3.4) becomes a start
marker ``[None, None, groupname, None]`` and an end marker
``[None, None, None, None]``. An address without a host gets
``MISSING_HOST`` (and one without a local part ``MISSING_MAILBOX``), the
convention of UW-IMAP's c-client, because a NIL host would mean "group".

``email.utils.getaddresses`` is not used: it flattens groups and walks the
header character by character in Python; this tokenises with one regex.
"""

from __future__ import annotations

import binascii
import codecs
import functools
import re
from collections.abc import Iterator
from encodings.aliases import aliases as _CODEC_ALIASES
from typing import Any
from urllib.parse import unquote_to_bytes

Address = list[str | None]

MISSING_HOST = ".MISSING-HOST-NAME."
MISSING_MAILBOX = "MISSING_MAILBOX"
# Only this much of an address or parameter header is parsed, and only this
# many addresses kept: a hostile 1 MB header line must not cost a second of
# Python work per token.
MAX_CHARS = 64 * 1024
MAX_ADDRESSES = 1000

_QUOTED_PAIR = re.compile(r"\\(.)", re.S)


# --- charsets and RFC 2047 ----------------------------------------------------

_LINEBREAK = re.compile(r"\r?\n")
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([QqBb])\?([^?]*)\?=")
_B64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_B64_JUNK = bytes(c for c in range(256) if c not in _B64_ALPHABET)
# Declared charsets that lie or that Python names differently.
_CHARSET_FIXES = {
    "us_ascii": "utf_8",
    "ascii": "utf_8",
    "unknown_8bit": "latin_1",
    "x_unknown": "utf_8",
    "x_user_defined": "latin_1",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "iso_8859_8_i": "iso8859_8",
}
_KNOWN_CODECS = set(_CODEC_ALIASES) | set(_CODEC_ALIASES.values())
_NOT_CHARSETS = {"unicode_escape", "raw_unicode_escape", "punycode", "idna", "undefined"}


@functools.lru_cache(maxsize=256)
def _codec(charset: str) -> str:
    """A Python codec for a MIME charset name; 'utf_8' when unknown.

    Only names in the alias table reach codecs.lookup: the encodings search
    function caches every failed name, which hostile mail could grow forever.
    """
    name = re.sub(r"[^a-z0-9]+", "_", charset.strip().lower()).strip("_")
    name = _CHARSET_FIXES.get(name, name)
    if name not in _KNOWN_CODECS:
        return "utf_8"
    try:
        info = codecs.lookup(name)
    except LookupError:
        return "utf_8"
    if info.name.replace("-", "_") in _NOT_CHARSETS or not getattr(info, "_is_text_encoding", True):
        return "utf_8"
    return info.name


def decode_bytes(data: bytes, charset: str | None) -> str:
    try:
        return data.decode(_codec((charset or "utf-8")[:64]), "replace")
    except Exception:  # a codec that refuses 'replace' (or misbehaves)
        return data.decode("utf-8", "replace")


def b64decode_lenient(data: bytes) -> bytes:
    """Lenient base64: junk characters are skipped, padding repaired.

    '=' inside the data (concatenated encoded chunks) restarts the quantum.
    """
    out = []
    for chunk in data.split(b"=") if b"=" in data.rstrip(b"= \t\r\n") else [data]:
        clean = chunk.translate(None, _B64_JUNK)
        if len(clean) % 4 == 1:  # one stray sextet carries no whole byte
            clean = clean[:-1]
        try:
            out.append(binascii.a2b_base64(clean + b"=" * (-len(clean) % 4)))
        except binascii.Error:
            pass
    return b"".join(out)


def decode_header_value(value: str) -> str:
    """Decode RFC 2047 encoded words, tolerating bad encodings and charsets.

    White space between adjacent encoded words is dropped (RFC 2047 6.2), and
    adjacent words in one charset are decoded together so a multi-byte
    character split across two words survives.
    """
    try:
        value = _LINEBREAK.sub("", value)
        out: list[str] = []
        pending: tuple[str, bytes] | None = None
        pos = 0
        for m in _ENCODED_WORD.finditer(value):
            between = value[pos : m.start()]
            if pending is None or between.strip(" \t"):
                if pending is not None:
                    out.append(decode_bytes(pending[1], pending[0]))
                    pending = None
                out.append(between)
            charset = m.group(1).split("*", 1)[0]  # RFC 2231 5: charset*language
            text = m.group(3).encode("utf-8")
            data = b64decode_lenient(text) if m.group(2) in "Bb" else binascii.a2b_qp(text, header=True)
            if pending is not None and pending[0].lower() == charset.lower():
                pending = (charset, pending[1] + data)
            else:
                if pending is not None:
                    out.append(decode_bytes(pending[1], pending[0]))
                pending = (charset, data)
            pos = m.end()
        if pending is not None:
            out.append(decode_bytes(pending[1], pending[0]))
        out.append(value[pos:])
        return "".join(out)
    except Exception:
        return value


# --- MIME parameters (RFC 2045 5.1, RFC 2231) ------------------------------

# Leading white space only: a run of ';' is skipped by find, or every
# attempt would rescan it (quadratic).
_PARAM = re.compile(r'\s*([^\s=;"]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"?|([^;]*))', re.S)
_RFC2231_NAME = re.compile(r"([^*]+)\*(?:(\d{1,3})(\*)?)?")


def parse_params(value: str, pos: int) -> list[list[str]]:
    """``; name=value`` pairs from ``pos`` on, in order (RFC 2045 5.1, RFC 2231)."""
    raw: list[tuple[str, str]] = []
    value = value[: pos + MAX_CHARS]
    while pos < len(value):
        m = _PARAM.match(value, pos)
        if m:
            quoted = m.group(2)
            raw.append(
                (m.group(1).lower(), _QUOTED_PAIR.sub(r"\1", quoted) if quoted is not None else m.group(3).strip())
            )
            pos = m.end()
        semi = value.find(";", pos)
        pos = semi + 1 if semi >= 0 else len(value)
    return _join_rfc2231(raw)


def _join_rfc2231(raw: list[tuple[str, str]]) -> list[list[str]]:
    """Join RFC 2231 continuations (name*0, name*1*) and decode charset'lang'%XX."""
    order: list[str] = []
    plain: dict[str, str] = {}
    sections: dict[str, dict[int, tuple[str, bool]]] = {}
    for name, value in raw:
        m = _RFC2231_NAME.fullmatch(name)
        base = m.group(1) if m else name
        if base not in plain and base not in sections:
            order.append(base)
        if m:  # name* is one encoded section; name*N[*] is section N (RFC 2231 3, 4)
            number = int(m.group(2)) if m.group(2) else 0
            sections.setdefault(base, {}).setdefault(number, (value, m.group(2) is None or bool(m.group(3))))
        else:
            plain.setdefault(base, value)
    out = []
    for base in order:
        if base not in sections:
            out.append([base, plain[base]])
            continue
        charset, data = "utf-8", b""
        for number, (value, encoded) in sorted(sections[base].items()):
            if encoded:
                if number == 0 and value.count("'") >= 2:
                    charset, _lang, value = value.split("'", 2)
                data += unquote_to_bytes(value)
            else:
                data += value.encode("utf-8")
        out.append([base, decode_bytes(data, charset or "utf-8")])
    return out


# --- addresses ---------------------------------------------------------------

_TOKEN = re.compile(
    r"""
      (?P<ws>[ \t\r\n]+)
    | "(?P<qs>(?:[^"\\]|\\.)*)"?          # quoted-string, tolerating no closing quote
    | (?P<cm>\()                          # comment: nested, scanned by _comment_end
    | (?P<dl>\[[^\]]*\]?)                 # domain-literal
    | (?P<sp>[<>,:;@.)\]\\])              # specials
    | (?P<atom>[^ \t\r\n"(),.:;<>@\[\]\\]+)
    """,
    re.X | re.S,
)
_COMMENT_CH = re.compile(r"\\.|[()]", re.S)


def _comment_end(s: str, pos: int) -> int:
    """Index just past the comment opening at ``pos`` (RFC 5322 3.2.2: comments nest)."""
    depth = 0
    for m in _COMMENT_CH.finditer(s, pos):
        c = m.group()
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return m.end()
    return len(s)


def _tokens(s: str) -> Iterator[tuple[str, str, str, bool]]:
    """Yield (kind, raw text, semantic text, preceded by white space or comment)."""
    pos, spaced, n = 0, False, len(s)
    while pos < n:
        m = _TOKEN.match(s, pos)
        if m is None:  # unreachable: every character starts some token
            return
        kind = m.lastgroup or "atom"
        if kind == "cm":
            end = _comment_end(s, pos)
            yield "cm", s[pos:end], s[pos + 1 : end - 1].strip(), spaced
            pos, spaced = end, True
            continue
        pos = m.end()
        if kind == "ws":
            spaced = True
            continue
        text = m.group()
        value = _QUOTED_PAIR.sub(r"\1", m.group("qs")) if kind == "qs" else text
        yield kind, text, value, spaced
        spaced = False


class _Builder:
    """Collects the tokens of one mailbox at a time and emits addresses."""

    def __init__(self) -> None:
        self.out: list[Address] = []
        self.in_group = False
        self._reset()

    def _reset(self) -> None:
        self.words: list[tuple[str, str, bool]] = []  # (raw, value, spaced) outside <>
        self.angle: list[str] | None = None  # raw tokens inside <>, None if no '<' seen
        self.in_angle = False
        self.comment: str | None = None

    def phrase(self) -> str:
        pieces = [(" " if spaced and i else "") + value for i, (_raw, value, spaced) in enumerate(self.words)]
        return "".join(pieces)

    def finish(self) -> None:
        adl: str | None = None
        if self.angle is not None:
            name: str | None = self.phrase() or None
            tokens = self.angle
            if ":" in tokens:  # obs-route "@a,@b:" (RFC 5322 4.4) is the IMAP adl
                i = len(tokens) - 1 - tokens[::-1].index(":")
                adl, tokens = "".join(tokens[:i]) or None, tokens[i + 1 :]
        else:
            # Bare addr-spec; an old-style "a@b (Name)" comment stands in for a name.
            name, tokens = self.comment or None, [raw for raw, _v, _s in self.words]
        if "@" in tokens:
            i = len(tokens) - 1 - tokens[::-1].index("@")
            local, host = "".join(tokens[:i]), "".join(tokens[i + 1 :])
        else:
            local, host = "".join(tokens), ""
        if local or host:  # a lone phrase or comment is no address
            self.out.append([name, adl, local or MISSING_MAILBOX, host or MISSING_HOST])
        self._reset()

    def special(self, c: str, spaced: bool) -> None:
        if self.in_angle:
            if c == ">":
                self.in_angle = False
            elif c == "," and not (self.angle and self.angle[0] == "@"):
                self.finish()  # unclosed '<' : a comma outside a route ends the address
            elif c in ":@.,":
                self.angle.append(c)  # type: ignore[union-attr]
        elif c == "<" and self.angle is None:
            self.angle, self.in_angle = [], True
        elif c == ",":
            self.finish()
        elif c == ":" and not self.in_group:
            self.out.append([None, None, self.phrase(), None])  # RFC 3501 group start
            self._reset()
            self.in_group = True
        elif c == ";":
            self.finish()
            if self.in_group:
                self.out.append([None, None, None, None])
                self.in_group = False
        elif c in "@." and self.angle is None:
            self.words.append((c, c, spaced))

    def word(self, raw: str, value: str, spaced: bool) -> None:
        if self.in_angle:
            self.angle.append(raw)  # type: ignore[union-attr]
        elif self.angle is None:  # words after '>' are ignored
            self.words.append((raw, value, spaced))


def parse_address_list(value: str | None) -> list[Address] | None:
    """Parse an address header's raw (unfolded) value; None if absent or empty.

    RFC 3501's address list is NIL or one or more addresses, so an empty
    result is None too. Past the limits the rest of the header is ignored.
    """
    if value is None:
        return None
    b = _Builder()
    for kind, raw, text, spaced in _tokens(value[:MAX_CHARS]):
        if len(b.out) >= MAX_ADDRESSES:
            break
        if kind == "cm":
            b.comment = text or b.comment
        elif kind == "sp":
            b.special(raw, spaced)
        else:
            b.word(raw, text, spaced)
    b.finish()
    if b.in_group:
        b.out.append([None, None, None, None])
    return b.out or None


# --- envelope and display forms ----------------------------------------------


def envelope(headers: dict[str, str]) -> dict[str, Any]:
    """RFC 3501 7.4.2 ENVELOPE from raw header values; Sender and Reply-To default to From."""
    addresses = {key: parse_address_list(headers.get(key)) for key in ("from", "sender", "reply-to", "to", "cc", "bcc")}
    return {
        "date": headers.get("date"),
        "subject": headers.get("subject"),
        "from": addresses["from"],
        "sender": addresses["sender"] or addresses["from"],
        "reply_to": addresses["reply-to"] or addresses["from"],
        "to": addresses["to"],
        "cc": addresses["cc"],
        "bcc": addresses["bcc"],
        "in_reply_to": headers.get("in-reply-to"),
        "message_id": headers.get("message-id"),
    }


def named_mailboxes(addresses: list[Address] | None) -> list[tuple[str, str]]:
    """(decoded display name, address) of each mailbox, groups and host-less entries left out."""
    out = []
    for name, _adl, mailbox, host in addresses or []:
        if mailbox and host and not host.startswith("."):
            out.append((decode_header_value(name) if name else "", f"{mailbox}@{host}"))
    return out


def display_addresses(addresses: list[Address] | None, fallback: str | None) -> str:
    """``Name <a@b>, c@d, Group: e@f;`` with names RFC 2047-decoded."""
    if not addresses:
        return decode_header_value(fallback or "")
    out: list[str] = []
    group: str | None = None
    members: list[str] = []
    for name, _adl, mailbox, host in addresses:
        if host is None:  # group marker (RFC 3501 7.4.2)
            if mailbox is not None:
                group, members = decode_header_value(mailbox), []
            elif group is not None:
                out.append(f"{group}: {', '.join(members)};")
                group = None
            continue
        addr = mailbox if host == MISSING_HOST else f"{mailbox}@{host}"
        shown = decode_header_value(name) if name else ""
        if re.search(r'[,;:<>@"]', shown):
            shown = '"' + shown.replace("\\", "\\\\").replace('"', '\\"') + '"'
        (members if group is not None else out).append(f"{shown} <{addr}>" if shown else str(addr))
    if group is not None:
        out.append(f"{group}: {', '.join(members)};")
    return ", ".join(out)
