"""Build outgoing messages: valid MIME (RFC 5322, RFC 2045-2049) from typed input.

Pure: stdlib ``email`` only, no Django, no I/O. The webmail's compose and the
vacation responder both use it. ``email.policy.SMTP`` gives CRLF line ends,
RFC 2047 encoded words for non-ASCII header text, RFC 2231 file names, and
refuses header values that contain line breaks (no header injection).
"""

from __future__ import annotations

import email
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, make_msgid

from .mime_addresses import named_mailboxes

__all__ = [
    "Attachment",
    "Outgoing",
    "build",
    "parse_addresses",
    "valid_media_type",
    "reply_subject",
    "forward_subject",
    "strip_prefixes",
    "quote",
    "attribution",
    "references_for",
    "envelope_addresses",
]

# ASCII addr-spec, as the store keeps addresses (dot-atom local part, host name).
_ADDR_SPEC = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}@[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$")
MAX_LINE = 78  # RFC 5322 2.1.1: SHOULD be no more than 78 characters


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str  # "type/subtype"; message/rfc822 embeds data as a message
    data: bytes
    content_id: str = ""  # without angle brackets; set for an image the HTML shows by cid: (Outgoing.related)


@dataclass(frozen=True)
class Outgoing:
    from_address: str
    from_name: str = ""
    to: tuple[tuple[str, str], ...] = ()  # (display name, address)
    cc: tuple[tuple[str, str], ...] = ()
    bcc: tuple[tuple[str, str], ...] = ()
    subject: str = ""
    text: str = ""
    html: str = ""  # with text, sent as multipart/alternative; already sanitised by the caller
    in_reply_to: str = ""
    references: str = ""
    attachments: tuple[Attachment, ...] = ()
    related: tuple[Attachment, ...] = ()  # images the html refers to by cid: (RFC 2392), sent beside it
    extra_headers: tuple[tuple[str, str], ...] = ()
    date: datetime | None = None
    message_id: str = ""


def valid_media_type(text: str) -> bool:
    """'type/subtype' made of RFC 2045 token characters."""
    return bool(_MEDIA_TYPE.match(text))


def parse_addresses(text: str) -> list[tuple[str, str]]:
    """'Bob <bob@x.test>, carl@y.test' -> [(name, address)]; ValueError names a bad one."""
    text = _CONTROL.sub(" ", text or "")
    out: list[tuple[str, str]] = []
    for name, address in getaddresses([text]):
        address = address.strip()
        if not address and not name:
            continue
        if not _ADDR_SPEC.match(address) or ".." in address:
            raise ValueError(f"not a valid address: {(address or name)!r}")
        out.append((name.strip(), address))
    return out


def _address(name: str, addr: str) -> Address:
    local, _, domain = addr.rpartition("@")
    return Address(display_name=_CONTROL.sub(" ", name).strip(), username=local, domain=domain)


def _one_line(value: str) -> str:
    return " ".join(_CONTROL.sub(" ", value).split())


def _text_cte(text: str) -> str:
    """7bit when it is short-lined ASCII, else quoted-printable (RFC 2045 6.7):
    the message stays 7-bit clean for any relay on the way."""
    if text.isascii() and all(len(line) <= MAX_LINE for line in text.split("\n")):
        return "7bit"
    return "quoted-printable"


def build(msg: Outgoing, *, include_bcc: bool = False) -> bytes:
    """The message as bytes with CRLF line ends. include_bcc: for the sender's
    own copy (Sent, Drafts); what is delivered never carries Bcc."""
    m = EmailMessage(policy=policy.SMTP)
    m["Date"] = format_datetime(msg.date or datetime.now(UTC))
    m["From"] = _address(msg.from_name, msg.from_address)
    for header, addresses in (("To", msg.to), ("Cc", msg.cc), ("Bcc", msg.bcc if include_bcc else ())):
        if addresses:
            m[header] = [_address(n, a) for n, a in addresses]
    m["Subject"] = _one_line(msg.subject)
    m["Message-ID"] = msg.message_id or make_msgid(domain=msg.from_address.rpartition("@")[2])
    if msg.in_reply_to:
        m["In-Reply-To"] = _one_line(msg.in_reply_to)
    if msg.references:
        m["References"] = _one_line(msg.references)
    for name, value in msg.extra_headers:
        m[name] = _one_line(value)
    text = msg.text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.endswith("\n"):
        text += "\n"
    m.set_content(text, cte=_text_cte(text))
    if msg.html:  # RFC 2046 5.1.4: the plain text first, the richer form last
        html = msg.html.replace("\r\n", "\n").replace("\r", "\n")
        m.add_alternative(html if html.endswith("\n") else html + "\n", subtype="html", cte="quoted-printable")
        if msg.related:  # RFC 2387: multipart/related[text/html, image...] as the rich alternative
            body = m.get_body(("html",))
            assert isinstance(body, EmailMessage)  # the alternative just added
            _relate(body, msg.related)
    for att in msg.attachments:
        _attach(m, att)
    return m.as_bytes(policy=policy.SMTP)


def _relate(html: EmailMessage, images: tuple[Attachment, ...]) -> None:
    """The html part made multipart/related (in place), with each image after it under its Content-ID."""
    for image in images:
        maintype, _, subtype = image.content_type.lower().partition("/")
        if maintype != "image" or not valid_media_type(image.content_type.lower()):
            raise ValueError(f"not an image type: {image.content_type!r}")
        filename = _one_line(image.filename).replace("/", "_").replace("\\", "_") or "image"
        cid = "<" + _one_line(image.content_id).strip("<>") + ">"
        html.add_related(
            image.data, maintype=maintype, subtype=subtype, cid=cid, filename=filename, disposition="inline"
        )
    html.set_param("type", "text/html")


def _attach(m: EmailMessage, att: Attachment) -> None:
    filename = _one_line(att.filename).replace("/", "_").replace("\\", "_") or "attachment"
    ctype = att.content_type.lower() if valid_media_type(att.content_type.lower()) else "application/octet-stream"
    if ctype == "message/rfc822":
        # RFC 2046 5.2.1: only 7bit, 8bit or binary; the embedded message keeps its own encodings.
        inner = email.message_from_bytes(att.data, policy=policy.compat32)
        m.add_attachment(inner, cte="7bit" if att.data.isascii() else "8bit", filename=filename)
        return
    maintype, _, subtype = ctype.partition("/")
    if maintype in ("multipart", "message"):
        maintype, subtype = "application", "octet-stream"
    m.add_attachment(att.data, maintype=maintype, subtype=subtype, filename=filename)


# --- replies and forwards ---------------------------------------------------


def envelope_addresses(envelope: dict, *keys: str) -> list[tuple[str, str]]:
    """(decoded display name, address) of the mailboxes in the stored envelope's
    fields (RFC 3501 7.4.2 form), groups and host-less entries left out."""
    return [pair for key in keys for pair in named_mailboxes(envelope.get(key))]


# Reply and forward prefixes in the languages clients write them (German AW/WG,
# Scandinavian SV); RFC 5322 3.6.5 names only "Re: ".
_PREFIX_WORDS = frozenset({"re", "aw", "sv", "fw", "fwd", "wg"})


def strip_prefixes(subject: str) -> str:
    """The subject without its leading reply/forward prefixes ("Re: ", "AW:",
    "Fwd[2]:", each with optional spaces), in one forward pass: every prefix
    ends where the next is looked for, and the first that is not one stops
    it, so a hostile subject ("re" and 100,000 spaces, "Re: " 10,000 times)
    costs time linear in its length (a backtracking regular expression here
    was quadratic)."""
    end = 0
    while (after := _prefix_end(subject, end)) >= 0:
        end = after
    return subject[end:]


def _prefix_end(s: str, i: int) -> int:
    """Where one prefix that starts at i ends (spaces, word, [n], spaces, ':', spaces), or -1."""
    i = _skip_spaces(s, i)
    word = i
    while i < len(s) and i - word < 3 and s[i].isalpha():
        i += 1
    if s[word:i].lower() not in _PREFIX_WORDS:
        return -1
    i = _skip_spaces(s, i)
    if i < len(s) and s[i] == "[":  # a count, as in "Re[2]:"
        digits = i = i + 1
        while i < len(s) and s[i].isdecimal():
            i += 1
        if i == digits or i == len(s) or s[i] != "]":
            return -1
        i = _skip_spaces(s, i + 1)
    if i == len(s) or s[i] != ":":
        return -1
    return _skip_spaces(s, i + 1)


def _skip_spaces(s: str, i: int) -> int:
    while i < len(s) and s[i].isspace():
        i += 1
    return i


def reply_subject(subject: str) -> str:
    return "Re: " + strip_prefixes(subject or "")


def forward_subject(subject: str) -> str:
    return "Fwd: " + strip_prefixes(subject or "")


def references_for(message_id: str, references: str) -> str:
    """RFC 5322 3.6.4: the parent's References (or In-Reply-To) plus its Message-ID."""
    ids = re.findall(r"<[^<>\s]+>", references or "")
    own = re.findall(r"<[^<>\s]+>", message_id or "")
    return " ".join((ids + own)[-20:])


def attribution(author: str, when: datetime | None) -> str:
    """The line above a quoted reply: "On <date>, <author> wrote:"."""
    return f"On {when:%a, %d %b %Y %H:%M}, {author} wrote:" if when else f"{author} wrote:"


def quote(text: str, author: str, when: datetime | None) -> str:
    """The parent's text, quoted with '> ' under an attribution line."""
    said = attribution(author, when)
    lines = text.replace("\r\n", "\n").rstrip("\n").split("\n")
    return said + "\n" + "\n".join(("> " + line) if line else ">" for line in lines) + "\n"
