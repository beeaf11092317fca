"""VERP return paths for our users' outbound mail, so that a bounce names the
queue entry it is about (docs/DELIVERABILITY.md, "Bounces"). Pure.

The relay sends alice@example.test's message 42 with the envelope sender
alice+bnc-42-<hash>@example.test: the hash (mailboxes/srs.mac, keyed) makes it
unguessable, so nobody can pin made-up bounces on our queue; the "+" detail
(RFC 5233) means a bounce still reaches alice's mailbox as before, and is
read for the queue besides.
"""

from __future__ import annotations

import re

from .srs import mac

TAG = "bnc"
_VERP = re.compile(rf"^(?P<local>.+)\+{TAG}-(?P<id>[0-9]{{1,18}})-(?P<hash>[a-z2-7]{{8}})$", re.I)


def return_path(sender: str, message_id: int, *, secret: bytes) -> str:
    local, at, domain = sender.rpartition("@")
    if not (local and at and domain):
        return sender
    return f"{local}+{TAG}-{message_id}-{mac(secret, f'verp={message_id}={local}@{domain}')}@{domain}"


def message_of(address: str, *, secret: bytes) -> int | None:
    """The queue entry a VERP address of ours names, or None (not one, or a forgery)."""
    local, _, domain = address.rpartition("@")
    found = _VERP.match(local)
    if found is None:
        return None
    message_id = int(found["id"])
    expected = mac(secret, f"verp={message_id}={found['local']}@{domain}")
    return message_id if expected == found["hash"].lower() else None
