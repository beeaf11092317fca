"""What a Sieve script looks at: the message's header fields and text,
the SMTP envelope, and the facts of the delivery (RFC 5228 1.1, 5.x).
`from_bytes` is pure: it parses with the standard library's email package.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from email.message import Message


@dataclass(frozen=True, slots=True, kw_only=True)
class SieveMessage:
    headers: tuple[tuple[str, str], ...]  # (name, unfolded value with RFC 2047 words decoded), in order
    text_parts: tuple[tuple[str, str], ...]  # (content type, decoded text) of every text/* part
    raw_body: str  # the body as it travelled, undecoded (RFC 5173 5.1 :raw)
    size: int

    def header(self, name: str) -> list[str]:
        lowered = name.lower()
        return [value for key, value in self.headers if key.lower() == lowered]


@dataclass(frozen=True, slots=True, kw_only=True)
class Envelope:
    sender: str  # MAIL FROM; "" for the null reverse-path
    recipient: str  # RCPT TO as the sender wrote it (with a +detail)


@dataclass(frozen=True, slots=True)
class Limits:
    max_actions: int = 32
    max_redirects: int = 4
    max_variable_length: int = 4000  # RFC 5229 6 allows truncation


@dataclass(frozen=True, slots=True, kw_only=True)
class Delivery:
    envelope: Envelope
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    mailboxes: frozenset[str] = frozenset()  # the owner's folders (RFC 5490 mailboxexists)
    spam_percent: int | None = None  # 0-100, None when no spam filter looked (RFC 5235)
    seen: Callable[[str], bool] = lambda key: False  # RFC 7352: is this duplicate key tracked?
    limits: Limits = Limits()


def from_bytes(raw: bytes) -> SieveMessage:
    parsed = message_from_bytes(raw, policy=policy.compat32)
    headers = tuple((name, _decoded(value)) for name, value in parsed.items())
    split = raw.find(b"\r\n\r\n")
    gap = 4
    if split < 0:
        split, gap = raw.find(b"\n\n"), 2
    raw_body = raw[split + gap :].decode("utf-8", "replace") if split >= 0 else ""
    return SieveMessage(headers=headers, text_parts=tuple(_text_parts(parsed)), raw_body=raw_body, size=len(raw))


def _decoded(value: object) -> str:
    text = str(value)
    try:
        text = str(make_header(decode_header(text)))
    except (ValueError, LookupError, UnicodeError):
        pass
    return " ".join(text.replace("\r", "").split("\n")).strip()


def _text_parts(parsed: Message) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for part in parsed.walk():
        if part.get_content_maintype() != "text" or part.is_multipart():
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        charset = part.get_content_charset() or "us-ascii"
        try:
            text = payload.decode(charset, "replace")
        except LookupError:
            text = payload.decode("utf-8", "replace")
        out.append((part.get_content_type(), text))
    return out
