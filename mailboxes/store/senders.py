"""Who may send as whom: the one rule submission (SMTP MAIL FROM and the
From:/Sender: fields at DATA), the webmail and the relay's DKIM signing all
ask (issue #15 item 1).

An account may use its own address, the address of an alias whose targets
include it (one level, as delivery expands it), and what an admin granted
it in the dashboard: one address, or a whole hosted domain ('@domain').
A catch-all alias grants nothing.

The relay signs a queued message with the DKIM key of the domain recorded
on it when it was queued (signing_domain): the author domain when exactly
one From: address names it and the submitting account may use every
From:/Sender: address; else nothing. Mail nobody here submitted (arriving at
the MX and forwarded on by an alias or a user's forwarding) is therefore
never signed: we are not its author, and a signature of ours in the
author's name is what DMARC would take as the author's own.
"""

from __future__ import annotations

import re
from email.utils import getaddresses

from ..models import Account, Alias, SendAsGrant
from ._db import no_transaction
from .addresses import domain_of, normalize_address
from .errors import InvalidInput

AUTHOR_FIELDS = (b"from", b"sender")
# More addresses than this in From:/Sender: is not a message a person wrote.
MAX_AUTHORS = 100
_FIELD = re.compile(rb"^([^:\s]+)[ \t]*:(.*)$", re.S)


def author_fields(raw: bytes) -> dict[str, list[str]]:
    """{'from': [values], 'sender': [values]} of the message's header, field
    names matched without case and with blanks before the colon allowed (a
    reader downstream may take 'From :' as From). Pure."""
    head = re.split(rb"\r?\n\r?\n", raw, maxsplit=1)[0]
    found: dict[str, list[str]] = {name.decode(): [] for name in AUTHOR_FIELDS}
    for line in re.split(rb"\r?\n(?![ \t])", head):
        match = _FIELD.match(line)
        if match and match.group(1).lower() in AUTHOR_FIELDS:
            value = re.sub(rb"\r?\n", b"", match.group(2)).decode("utf-8", "replace")
            found[match.group(1).lower().decode()].append(value)
    return found


def author_addresses(raw: bytes) -> tuple[list[str], list[str]]:
    """(every address in From:, every address in Sender:), as written; an
    entry that is not an address at all is kept as its text, so that the
    check refuses it rather than overlooking it."""
    fields = author_fields(raw)
    out: list[list[str]] = []
    for name in ("from", "sender"):
        addresses = []
        for display, address in getaddresses(fields[name]):
            if address or display:
                addresses.append(address or display)
        out.append(addresses)
    return out[0], out[1]


def _own(account_id: int) -> str | None:
    return Account.objects.filter(pk=account_id).values_list("address", flat=True).first()


def _may_send_as(account_id: int, own: str, address: str) -> bool:
    """may_send_as's body, for callers that already read the account's address."""
    try:
        addr = normalize_address(address)
    except InvalidInput:
        return False
    if addr == own:
        return True
    targets = Alias.objects.filter(source=addr).values_list("targets", flat=True).first()
    if targets and own in targets:
        return True
    if SendAsGrant.objects.filter(account_id=account_id, address__in=(addr, "@" + domain_of(addr))).exists():
        return True
    local, _, domain = addr.partition("@")
    # RFC 5233: user+detail@domain is user's when no alias claims it, as delivery
    # takes it (accounts.resolve_with_usage); the relay's VERP return paths are such.
    return targets is None and "+" in local and _may_send_as(account_id, own, f"{local.partition('+')[0]}@{domain}")


@no_transaction
def may_send_as(account_id: int, address: str) -> bool:
    """May this account use `address` as its envelope sender or in From:/Sender:?"""
    own = _own(account_id)
    return own is not None and _may_send_as(account_id, own, address)


def _unowned(account_id: int, from_: list[str], sender: list[str]) -> list[str]:
    authors = list(dict.fromkeys(from_ + sender))
    if len(authors) > MAX_AUTHORS:
        return authors
    own = _own(account_id)
    if own is None:
        return authors
    return [a for a in authors if not _may_send_as(account_id, own, a)]


@no_transaction
def unowned_authors(account_id: int, raw: bytes) -> list[str]:
    """The From:/Sender: addresses of a message this account may not use
    ([] when it may use them all, or the message names none)."""
    return _unowned(account_id, *author_addresses(raw))


def signing_domain(account_id: int | None, raw: bytes) -> str:
    """The domain the relay may sign raw as, decided when it is queued, in
    the queuing transaction: the single From: address's domain when the
    account that submitted it may use every author address; else ''."""
    if account_id is None:
        return ""
    from_, sender = author_addresses(raw)
    if len(from_) != 1 or _unowned(account_id, from_, sender):
        return ""
    return domain_of(normalize_address(from_[0]))
