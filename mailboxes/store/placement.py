"""Per-recipient placement: which folder each local copy of a delivered
message goes into, and the flags it starts with.

Delivery (store.deliver, store.deliver_final) takes `place`, a function
called once per local account after routing (aliases, catch-alls and
forwards resolved) that returns a Placement; without it every copy goes to
INBOX with no flags. The spam filter files into the \\Junk folder this way;
a Sieve interpreter answers fileinto/addflag with it.

Targets are settled before the delivery transaction: folder names are found
(by special use) and missing folders created in a short transaction of
their own, so the delivery statement itself stays one statement on
PostgreSQL. A folder created for a delivery that then fails (a full mailbox)
stays: it is empty, as if the user had made it. A target folder deleted in
the instant between the two gets no copy, like an account deleted since
routing (delivery.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from ..models import Folder
from . import events, folders
from ._db import atomic
from .errors import InvalidInput
from .types import FLAG_COLUMNS, SPECIAL_FOLDERS, Placement

Placer = Callable[[int], Placement]
INBOX = Placement()
JUNK = "\\Junk"


@dataclass(frozen=True)
class Target:
    """One account's copy as the delivery statements take it: the folder by
    name, the five system flag columns (FLAG_COLUMNS order) and the keywords
    as JSON text. junk: filed as spam, so no vacation reply goes to its
    sender (RFC 3834 2: no automatic answer to what is probably spam)."""

    owner: int
    folder: str
    system: tuple[bool, bool, bool, bool, bool]
    keywords: str
    junk: bool = False

    def row(self) -> list[object]:
        return [self.owner, self.folder, *self.system, self.keywords]


def targets(account_ids: Sequence[int], place: Placer | None) -> list[Target]:
    """The accounts' targets, in account id order. Raises InvalidInput for a
    bad folder name, special use or flag (before anything is stored)."""
    placements = {account: (place(account) if place is not None else INBOX) for account in account_ids}
    names = _folder_names(placements) if any(p != INBOX for p in placements.values()) else {}
    return [_target(account, names.get(account, "INBOX"), placements[account]) for account in sorted(placements)]


def _target(account: int, folder: str, placement: Placement) -> Target:
    return target(account, folder, placement.flags, junk=placement.special_use == JUNK)


def target(account: int, folder: str, flags: Iterable[str], *, junk: bool = False) -> Target:
    """One copy into the folder named (normalised) with these flags; raises
    InvalidInput for a bad flag (IMAP APPEND's target is made here too)."""
    from .messages import _split_flags  # the one reading of flags, as APPEND and STORE do

    system, keywords = _split_flags(flags)
    columns = tuple(system.get(column, False) for column in FLAG_COLUMNS.values())
    return Target(account, folder, columns, json.dumps(keywords), junk)  # type: ignore[arg-type]


@atomic
def _folder_names(placements: dict[int, Placement]) -> dict[int, str]:
    """{account: name of its target folder}, creating the folders that are missing."""
    names: dict[int, str] = {}
    for account, placement in placements.items():
        if placement.special_use:
            names[account] = _special(account, placement.special_use)
        elif placement.folder.upper() != "INBOX":
            names[account] = _named(account, folders.normalize_name(placement.folder))
    return names


def _special(account: int, use: str) -> str:
    usual = {u: n for n, u in SPECIAL_FOLDERS}
    if use not in usual:
        raise InvalidInput(f"unknown special use {use}")
    found = Folder.objects.filter(owner_id=account, special_use=use).order_by("pk").values_list("name", flat=True)
    name = found.first()
    if name is not None:
        return name
    return _named(account, usual[use], use)


def _named(account: int, name: str, special_use: str = "") -> str:
    if not Folder.objects.filter(owner_id=account, name=name).exists():
        try:
            with transaction.atomic():  # a savepoint: a racing delivery may create it first
                folders._ensure_parents(account, name)
                created = folders._create(account, name, special_use)
        except IntegrityError:
            return name
        events.publish_on_commit(account, created.pk)
    return name
