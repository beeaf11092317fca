"""URLAUTH (RFC 4467): GENURLAUTH, URLFETCH, RESETKEY.

A URLAUTH URL names a message (or part) of the signer's mailbox, who may
read it (``;URLAUTH=anonymous``, ``authuser``, ``user+<address>``;
``submit+`` names a submission server, which we do not have, so it never
opens), until when (``;EXPIRE=``), and carries ``:INTERNAL:<verifier>``,
the HMAC of the rest (the rump) under the mailbox's access key, which
lives in the store (``store.urlauth_sign``/``urlauth_check``) and is
replaced by RESETKEY. GENURLAUTH signs only URLs of the user's own
mailboxes. URLFETCH answers NIL for anything it cannot or may not read
(6.3), without saying why. The same URLs work in CATENATE (RFC 4469 5).
Reading a URL sets no ``\\Seen``.

URLAUTH=BINARY (RFC 5524): ``URLFETCH (url BINARY BODYPARTSTRUCTURE)``
answers ``(BODYPARTSTRUCTURE body BINARY nstring8)`` (or ``BODY nstring``).
BINARY undoes the transfer encoding of every leaf in the part
(:func:`.binary.binary_entity`), and BODYPARTSTRUCTURE with it describes
those octets (decoded sizes, as Dovecot and imaptest's urlauth-binary
have it); without it, the part's stored structure. A URL whose section is
HEADER, TEXT or MIME has no structure: NIL, as for a URL that cannot be read.

Not done: mechanisms other than INTERNAL.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from mailboxes import store
from mailboxes.mime import part_at

from . import commands as c
from .binary import UnknownCTE, binary_entity, render_binary
from .encoder import render_bodystructure, render_literal, render_string
from .imapurl import MessageUrl, UrlError, cut, parse_message_url, parse_urlauth
from .replies import Done, Refusal, no

if TYPE_CHECKING:
    from .state import Session

__all__ = ["authorized_data", "bad_url", "genurlauth", "is_me", "read_url", "resetkey", "urlfetch"]

_MECHANISM = "INTERNAL"
# url-resp-text (RFC 4469 6): anything but CR, LF and "]" (and we keep to printable ASCII).
_NOT_URL_TEXT = re.compile(r"[^\x20-\x5c\x5e-\x7e]")


async def genurlauth(s: Session, cmd: c.GenUrlAuth) -> Done:
    signed = []
    for text, mechanism in cmd.urls:
        if mechanism != _MECHANISM:
            raise no(None, "Unknown URLAUTH mechanism")
        try:
            url = parse_message_url(text)
            auth = parse_urlauth(text, url)
        except UrlError:
            raise bad_url(text) from None
        if auth.mechanism is not None or not is_me(s, url.owner):
            raise bad_url(text)  # a rump has no verifier, and names the user's own mailbox
        try:
            verifier = await s.call(store.urlauth_sign, s.account_id, url.mailbox, auth.rump)
        except store.NoSuchFolder:
            raise bad_url(text) from None
        signed.append(f"{auth.rump}:{_MECHANISM}:{verifier}")
    await s.io.send(b"* GENURLAUTH " + b" ".join(render_string(u) for u in signed) + b"\r\n")
    return Done()


async def urlfetch(s: Session, cmd: c.UrlFetch) -> Done:
    out = []
    for text, options in zip(cmd.urls, cmd.options or [None] * len(cmd.urls), strict=True):
        if options is None:
            data = await authorized_data(s, text)
            out.append(render_string(text) + b" " + (b"NIL" if data is None else render_literal(data)))
        else:
            found = await authorized_message(s, text)
            items = None if found is None else extended_items(found[0], found[1], options)
            out.append(render_string(text) + b" " + (b"NIL" if items is None else b"(" + items + b")"))
    await s.io.send(b"* URLFETCH " + b" ".join(out) + b"\r\n")
    return Done()


def extended_items(url: MessageUrl, found: store.MessageInfo, options: frozenset[str]) -> bytes | None:
    """RFC 5524 3: the url-fetch-data items the options ask for, or None
    when the URL names no part (a missing one, or HEADER/TEXT/MIME)."""
    raw = found.data or b""
    if url.section is None:
        node: dict | None = {**(found.structure or {}), "offsets": [0, found.header_bytes, len(raw)]}
    elif url.section.text is None and found.structure is not None:
        node = part_at(dict(found.structure), list(url.section.part))
    else:
        node = None
    if node is None:
        return None
    items = []
    if "BINARY" in options:
        try:
            header, body, node = binary_entity(raw, node)
        except UnknownCTE:
            return None
        data = header + body if url.section is None else body
    else:
        data = raw[node["offsets"][0 if url.section is None else 1] : node["offsets"][2]]
    if "BODYPARTSTRUCTURE" in options:
        items.append(b"BODYPARTSTRUCTURE " + render_bodystructure(node, True))
    if url.partial is not None:
        origin, length = url.partial
        data = data[origin:] if length is None else data[origin : origin + length]
    if "BINARY" in options:
        items.append(b"BINARY " + render_binary(data))
    elif "BODY" in options:
        items.append(b"BODY " + render_literal(data))
    return b" ".join(items)


async def resetkey(s: Session, cmd: c.ResetKey) -> Done:
    if any(m != _MECHANISM for m in cmd.mechanisms):
        raise no(None, "Unknown URLAUTH mechanism")
    await s.call(store.urlauth_reset, s.account_id, cmd.mailbox)
    return Done()


async def authorized_data(s: Session, text: str) -> bytes | None:
    """The octets a URLAUTH URL names, if this session may read them; else None."""
    found = await authorized_message(s, text)
    if found is None:
        return None
    url, message = found
    return cut(url, message.data or b"", message.structure, message.header_bytes)


async def authorized_message(s: Session, text: str) -> tuple[MessageUrl, store.MessageInfo] | None:
    """The parsed URL and the whole message it names, if this session may read it; else None."""
    try:
        url = parse_message_url(text)
        auth = parse_urlauth(text, url)
    except UrlError:
        return None
    if auth.mechanism != _MECHANISM or auth.verifier is None or url.owner is None:
        return None
    if auth.expire is not None and auth.expire <= datetime.now(UTC):
        return None
    kind, _, who = auth.access.partition("+")
    if kind == "submit" or (kind == "user" and not is_me(s, who if "@" in who else f"{who}@{url.host}")):
        return None
    mailbox = await s.call(store.urlauth_check, url.owner, url.mailbox, auth.rump, auth.verifier)
    if mailbox is None or url.uidvalidity not in (None, mailbox.uidvalidity):
        return None
    message = await read_message(s, url, mailbox.account_id, mailbox.folder_id)
    return None if message is None else (url, message)


async def read_url(s: Session, url: MessageUrl, account_id: int, folder_id: int) -> bytes | None:
    """The octets ``url`` names in that folder (no \\Seen set), None if there are none."""
    found = await read_message(s, url, account_id, folder_id)
    return None if found is None else cut(url, found.data or b"", found.structure, found.header_bytes)


async def read_message(s: Session, url: MessageUrl, account_id: int, folder_id: int) -> store.MessageInfo | None:
    """The whole message ``url`` names in that folder, with its structure (no \\Seen set)."""
    found = await s.call(
        store.fetch_messages, account_id, folder_id, [(url.uid, url.uid)], structure=True, content="full", limit=1
    )
    return found[0] if found else None


def is_me(s: Session, address: str | None) -> bool:
    assert s.account is not None
    return address is not None and address.lower() == s.account.address.lower()


def bad_url(text: str) -> Refusal:
    """``NO [BADURL url]`` (RFC 4469 6, RFC 4467 6.1): the URL shown as
    url-resp-text allows it (printable ASCII without "]")."""
    shown = _NOT_URL_TEXT.sub("?", text)[:1024] or "?"
    return no("BADURL " + shown, "Cannot read that URL")
