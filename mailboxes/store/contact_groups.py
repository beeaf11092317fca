"""Contact groups: named sets of an account's contacts (a contact can be in
several), made, renamed and deleted by hand or by a vCard's CATEGORIES
(vcards.py). Compose offers a group whose name matches what is typed
(:func:`group_suggestions`) and, chosen, writes its members' addresses: the
first address of each member (the one a contact's page lists first), so a
person with a home and a work address gets the message once.

Like contacts, groups touch no folder or account row: no part in the lock order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Prefetch

from ..models import Contact, ContactAddress, ContactGroup
from ._db import atomic
from .contacts import MAX_NAME, ContactInfo, _info, _line, _rows
from .errors import InvalidInput, NotFound

__all__ = [
    "GroupInfo",
    "add_to_group",
    "create_group",
    "delete_group",
    "group_members",
    "group_suggestions",
    "join_groups",
    "list_groups",
    "remove_from_group",
    "rename_group",
]

MAX_GROUPS = 500


@dataclass(frozen=True)
class GroupInfo:
    id: int
    name: str
    member_ids: tuple[int, ...]  # contact ids, ascending

    @property
    def count(self) -> int:
        return len(self.member_ids)


def _group_info(row: ContactGroup) -> GroupInfo:
    return GroupInfo(row.id, row.name, tuple(sorted(c.id for c in row.members.all())))


def _groups(account_id: int):  # type: ignore[no-untyped-def]
    return ContactGroup.objects.filter(account_id=account_id).prefetch_related(
        Prefetch("members", queryset=Contact.objects.only("id"))
    )


def _name(name: str) -> str:
    name = _line(name, "the group name", MAX_NAME)
    if not name:
        raise InvalidInput("a group needs a name")
    return name


def _group(account_id: int, group_id: int) -> ContactGroup:
    row = ContactGroup.objects.filter(account_id=account_id, pk=group_id).first()
    if row is None:
        raise NotFound("no such group")
    return row


def _named(account_id: int, name: str, exclude: int | None = None) -> ContactGroup | None:
    return ContactGroup.objects.filter(account_id=account_id, name__iexact=name).exclude(pk=exclude).first()


def _create(account_id: int, name: str) -> ContactGroup:
    if _named(account_id, name) is not None:
        raise InvalidInput(f"there is already a group named {name}")
    if ContactGroup.objects.filter(account_id=account_id).count() >= MAX_GROUPS:
        raise InvalidInput(f"an address book holds at most {MAX_GROUPS} groups")
    try:
        with transaction.atomic():  # a savepoint: a racing twin leaves the caller's transaction usable
            return ContactGroup.objects.create(account_id=account_id, name=name)
    except IntegrityError as exc:
        raise InvalidInput(f"there is already a group named {name}") from exc


@atomic
def list_groups(account_id: int) -> list[GroupInfo]:
    """The account's groups by name, each with its members' contact ids."""
    return sorted((_group_info(g) for g in _groups(account_id)), key=lambda g: (g.name.lower(), g.id))


@atomic
def create_group(account_id: int, name: str) -> GroupInfo:
    """A new empty group; InvalidInput for an empty, too long or taken name (case aside)."""
    return _group_info(_create(account_id, _name(name)))


@atomic
def rename_group(account_id: int, group_id: int, name: str) -> GroupInfo:
    name = _name(name)
    row = _group(account_id, group_id)
    if _named(account_id, name, exclude=group_id) is not None:
        raise InvalidInput(f"there is already a group named {name}")
    row.name = name
    try:
        with transaction.atomic():
            row.save(update_fields=["name"])
    except IntegrityError as exc:
        raise InvalidInput(f"there is already a group named {name}") from exc
    return _group_info(row)


@atomic
def delete_group(account_id: int, group_id: int) -> None:
    """The group goes; its contacts stay."""
    if not ContactGroup.objects.filter(account_id=account_id, pk=group_id).delete()[0]:
        raise NotFound("no such group")


@atomic
def group_members(account_id: int, group_id: int) -> list[ContactInfo]:
    """The group's contacts by name (then first address)."""
    _group(account_id, group_id)
    out = [_info(r) for r in _rows(account_id).filter(groups__id=group_id)]
    return sorted(out, key=lambda c: ((c.name or (c.addresses or ("",))[0]).lower(), c.id))


def _contact(account_id: int, contact_id: int) -> Contact:
    row = Contact.objects.filter(account_id=account_id, pk=contact_id).first()
    if row is None:
        raise NotFound("no such contact")
    return row


@atomic
def add_to_group(account_id: int, group_id: int, contact_id: int) -> None:
    """Put one of the account's contacts in one of its groups (again is no change)."""
    _group(account_id, group_id).members.add(_contact(account_id, contact_id))


@atomic
def remove_from_group(account_id: int, group_id: int, contact_id: int) -> None:
    _group(account_id, group_id).members.remove(_contact(account_id, contact_id))


def join_groups(account_id: int, contact: Contact, names: Iterable[str]) -> None:
    """Put contact in the groups of these names, made when missing (a vCard's
    CATEGORIES); a name that is blank or too long is skipped. Runs in the
    caller's transaction."""
    for raw in names:
        try:
            name = _name(raw)
        except InvalidInput:
            continue
        group = _named(account_id, name) or _create(account_id, name)
        group.members.add(contact)


@atomic
def group_suggestions(account_id: int, prefix: str, limit: int = 4) -> list[tuple[str, list[tuple[str, str]]]]:
    """(group name, [(name, address)] of its members) of the groups whose name
    contains prefix, by name; each member with its first address, members
    without an address left out, and groups left with none too."""
    text = prefix.strip()
    if len(text) < 2:
        return []
    first_addresses = Prefetch("addresses", queryset=ContactAddress.objects.order_by("id"))
    members = Prefetch("members", queryset=Contact.objects.prefetch_related(first_addresses))
    rows = (
        ContactGroup.objects.filter(account_id=account_id, name__icontains=text)
        .order_by("name", "id")
        .prefetch_related(members)
    )
    out = []
    for group in rows[:limit]:
        people = [(c.name, addresses[0].address) for c in group.members.all() if (addresses := c.addresses.all())]
        if people:
            out.append((group.name, sorted(people, key=lambda p: ((p[0] or p[1]).lower(), p[1]))))
    return out
