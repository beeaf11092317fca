"""IMAP METADATA (RFC 5464): annotations on the server and on mailboxes.

Entry names are lower-cased (RFC 5464 3.2: case-insensitive) and start
``/private/`` (the user's own) or ``/shared/`` (everyone who can see the
mailbox: here its owner; on the server, every user). Only a superuser may
write the server's shared entries. Limits: :data:`MAX_VALUE` octets per
value, :data:`MAX_ENTRIES` entries and :data:`MAX_TOTAL` octets of values per
account."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Final, Literal

from django.db.models import Q, Sum
from django.db.models.functions import Length

from ..models import Account, Folder, MetadataEntry
from . import events
from ._db import atomic, no_transaction
from .errors import LimitExceeded, NotPermitted
from .folders import get_folder

__all__ = [
    "MAX_ENTRIES",
    "MAX_TOTAL",
    "MAX_VALUE",
    "MetadataTooBig",
    "MetadataTooMany",
    "get_metadata",
    "metadata_digests",
    "set_metadata",
]

MAX_VALUE: Final = 64 * 1024
MAX_ENTRIES: Final = 1000
MAX_TOTAL: Final = 1024 * 1024

Depth = Literal[0, 1, "infinity"]


class MetadataTooBig(LimitExceeded):
    """A value over :data:`MAX_VALUE` (RFC 5464 4.3: ``[METADATA MAXSIZE n]``)."""


class MetadataTooMany(LimitExceeded):
    """Over :data:`MAX_ENTRIES` or :data:`MAX_TOTAL` (``[METADATA TOOMANY]``)."""


def _owner(account_id: int, folder: Folder | None, entry: str) -> int | None:
    """Whose entry: nobody's for the server's shared ones, else the account's."""
    return None if folder is None and entry.startswith("/shared/") else account_id


def _scope(owner: int | None, folder: Folder | None) -> Q:
    who = Q(owner_id=owner) if owner is not None else Q(owner__isnull=True)
    return who & (Q(folder=folder) if folder is not None else Q(folder__isnull=True))


def _folder(account_id: int, mailbox: str | None) -> Folder | None:
    return None if mailbox is None else get_folder(account_id, mailbox)


@atomic
def get_metadata(
    account_id: int, mailbox: str | None, entries: Sequence[str], depth: Depth = 0
) -> list[tuple[str, bytes]]:
    """The entries that exist among ``entries`` (and their descendants to
    ``depth``), in name order; ``mailbox`` None is the server."""
    folder = _folder(account_id, mailbox)
    found: dict[str, bytes] = {}
    for name in entries:
        query = Q(entry=name)
        if depth != 0:
            query |= Q(entry__startswith=name + "/")
        scope = _scope(_owner(account_id, folder, name), folder)
        rows = MetadataEntry.objects.filter(scope, query).values_list("entry", "value")
        for entry, value in rows:
            if depth == 1 and "/" in entry[len(name) + 1 :]:
                continue
            found[entry] = bytes(value)
    return sorted(found.items())


@atomic
def set_metadata(account_id: int, mailbox: str | None, items: Iterable[tuple[str, bytes | None]]) -> None:
    """Set (``None``: remove) entries, all or none (RFC 5464 4.3)."""
    items = list(items)
    folder = _folder(account_id, mailbox)
    account = Account.objects.select_for_update().get(pk=account_id)  # serialises the limit checks
    for name, value in items:
        if folder is None and name.startswith("/shared/") and not account.is_superuser:
            raise NotPermitted("server shared metadata is the administrator's")
        if value is not None and len(value) > MAX_VALUE:
            raise MetadataTooBig(MAX_VALUE)
        owner = _owner(account_id, folder, name)
        MetadataEntry.objects.filter(_scope(owner, folder), entry=name).delete()
        if value is not None:
            MetadataEntry.objects.create(owner_id=owner, folder=folder, entry=name, value=value)
    mine = MetadataEntry.objects.filter(owner_id=account_id)
    if mine.count() > MAX_ENTRIES or (mine.aggregate(total=Sum(Length("value")))["total"] or 0) > MAX_TOTAL:
        raise MetadataTooMany("metadata limit reached")
    events.publish_on_commit(account_id, events.METADATA)
    if folder is None and any(name.startswith("/shared/") for name, _value in items):
        events.publish_on_commit(events.SERVER, events.METADATA)  # the server's shared entries: everyone's


@no_transaction
def metadata_digests(account_id: int) -> dict[int, dict[str, bytes]]:
    """Every entry the account can see, by folder id (0: the server), with a
    digest of its value: what a NOTIFY session compares to tell which
    entries an events.METADATA event changed (RFC 5465 5.9, 5.10)."""
    seen: dict[int, dict[str, bytes]] = {}
    rows = MetadataEntry.objects.filter(Q(owner_id=account_id) | Q(owner__isnull=True, folder__isnull=True))
    for folder_id, entry, value in rows.values_list("folder_id", "entry", "value"):
        seen.setdefault(folder_id or 0, {})[entry] = hashlib.sha256(bytes(value)).digest()
    return seen
