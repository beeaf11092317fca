"""ENVELOPE for a session that has not enabled UTF8=ACCEPT. Pure.

RFC 6855 7: a server that keeps UTF-8 headers (mail taken with SMTPUTF8,
RFC 6532) and lets a client without ``ENABLE UTF8=ACCEPT`` read them must
still give that client what RFC 3501 and RFC 5322 allow, and points to the
downgrade of RFC 6857. The message octets (``BODY[]``, ``RFC822``, header
sections) go out as stored to every client (a literal may carry 8-bit
octets); what IMAP itself parses for the client, the ENVELOPE, is made
ASCII here, after RFC 6857 3:

* unstructured text (Subject) and display names become RFC 2047
  encoded-words (UTF-8, Q or B, whichever is shorter);
* a non-ASCII domain becomes its IDNA A-label;
* an address whose local part is not ASCII cannot be written at all: it
  becomes an empty group whose name is the encoded display name and address
  (RFC 6857 3.1.2, ``Encoded-word(display-name) Encoded-word(addr) :;``);
* Date, Message-ID and In-Reply-To that hold non-ASCII are NIL (RFC 6857
  drops such fields).

A session that enabled UTF8=ACCEPT gets the stored envelope unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from email.header import Header
from typing import Any, Final

__all__ = ["ascii_envelope"]

_TEXT_FIELDS: Final = ("subject",)
_TOKEN_FIELDS: Final = ("date", "in_reply_to", "message_id")
_ADDRESS_FIELDS: Final = ("from", "sender", "reply_to", "to", "cc", "bcc")

Address = list[str | None]


def ascii_envelope(env: Mapping[str, Any]) -> Mapping[str, Any]:
    """The envelope itself when it is ASCII already, else a downgraded copy."""
    if _is_ascii(env):
        return env
    out = dict(env)
    for key in _TEXT_FIELDS:
        out[key] = _encoded_word(env.get(key))
    for key in _TOKEN_FIELDS:
        value = env.get(key)
        out[key] = value if value is None or value.isascii() else None
    for key in _ADDRESS_FIELDS:
        addresses = env.get(key)
        out[key] = None if addresses is None else _addresses(addresses)
    return out


def _is_ascii(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return value.isascii()
    if isinstance(value, Mapping):
        return all(_is_ascii(v) for v in value.values())
    return all(_is_ascii(v) for v in value)


def _encoded_word(text: str | None) -> str | None:
    if text is None or text.isascii():
        return text
    # RFC 2047 2: encoded-words of at most 75 characters, separated by space.
    return Header(text, "utf-8").encode(linesep="").replace("?==?", "?= =?")


def _addresses(addresses: Sequence[Sequence[str | None]]) -> list[Address]:
    out: list[Address] = []
    for address in addresses:
        name, adl, mailbox, host = (list(address) + [None] * 4)[:4]
        if host is None:  # a group marker (RFC 3501 7.4.2): its name is text
            out.append([None, None, _encoded_word(mailbox), None])
            continue
        domain = _a_label(host)
        if mailbox is not None and mailbox.isascii() and domain is not None:
            out.append([_encoded_word(name), adl, mailbox, domain])
            continue
        # RFC 6857 3.1.2: no ASCII form; an empty group that names it.
        shown = f"{mailbox}@{host}"
        label = _encoded_word(f"{name} <{shown}>" if name else shown)
        out.append([None, None, label, None])
        out.append([None, None, None, None])
    return out


def _a_label(host: str) -> str | None:
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return None
