"""The address book: per-account contacts (a name, addresses, a phone, notes),
filled by hand, by vCard import (vcards.py) and by the people the account
writes to (:func:`remember_recipients`, `auto`
contacts, which a hand edit makes ordinary). An address belongs to at most
one contact of an account; compose suggestions ask :func:`contact_suggestions`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Prefetch, Q
from django.utils import timezone

from ..models import Contact, ContactAddress
from ._db import atomic
from .addresses import normalize_address
from .errors import InvalidInput, NotFound

__all__ = [
    "ContactInfo",
    "contact_suggestions",
    "delete_contact",
    "get_contact",
    "list_contacts",
    "remember_recipients",
    "save_contact",
]

MAX_NAME = 200
MAX_PHONE = 100
MAX_NOTES = 10_000
MAX_ADDRESSES = 20
MAX_ADDRESS = 320  # ContactAddress.address
MAX_CONTACTS = 10_000
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class ContactInfo:
    id: int
    name: str
    addresses: tuple[str, ...]
    phone: str = ""
    notes: str = ""
    auto: bool = False


def _info(row: Contact) -> ContactInfo:
    return ContactInfo(row.id, row.name, tuple(a.address for a in row.addresses.all()), row.phone, row.notes, row.auto)


def _rows(account_id: int):  # type: ignore[no-untyped-def]
    return Contact.objects.filter(account_id=account_id).prefetch_related(
        Prefetch("addresses", queryset=ContactAddress.objects.order_by("id"))
    )


def _line(value: str, what: str, limit: int) -> str:
    value = " ".join(_CONTROL.sub(" ", value or "").split())
    if len(value) > limit:
        raise InvalidInput(f"{what} is longer than {limit} characters")
    return value


@atomic
def list_contacts(account_id: int, query: str = "") -> list[ContactInfo]:
    """The account's contacts by name (then first address), optionally those
    whose name or an address contains query."""
    rows = _rows(account_id)
    text = query.strip()
    if text:
        rows = rows.filter(Q(name__icontains=text) | Q(addresses__address__icontains=text)).distinct()
    out = [_info(r) for r in rows]
    return sorted(out, key=lambda c: ((c.name or (c.addresses or ("",))[0]).lower(), c.id))


@atomic
def get_contact(account_id: int, contact_id: int) -> ContactInfo:
    row = _rows(account_id).filter(pk=contact_id).first()
    if row is None:
        raise NotFound("no such contact")
    return _info(row)


def _claim(account_id: int, contact: Contact, addresses: list[str]) -> None:
    """Give contact exactly these addresses; one held by an automatic contact
    moves over (the emptied automatic contact goes), one held by a contact
    made by hand is refused."""
    taken = ContactAddress.objects.filter(account_id=account_id, address__in=addresses).exclude(contact=contact)
    for held in taken.select_related("contact"):
        if not held.contact.auto:
            raise InvalidInput(f"{held.address} is already in the contact {held.contact.name or held.address}")
    others = {h.contact_id for h in taken}
    taken.delete()
    Contact.objects.filter(pk__in=others, auto=True, addresses__isnull=True).delete()
    ContactAddress.objects.filter(contact=contact).exclude(address__in=addresses).delete()
    have = set(ContactAddress.objects.filter(contact=contact).values_list("address", flat=True))
    ContactAddress.objects.bulk_create(
        [ContactAddress(contact=contact, account_id=account_id, address=a) for a in addresses if a not in have]
    )


def _clean(name: str, addresses: Iterable[str], phone: str, notes: str) -> tuple[str, list[str], str, str]:
    wanted = list(dict.fromkeys(normalize_address(a) for a in addresses if a.strip()))
    if len(wanted) > MAX_ADDRESSES:
        raise InvalidInput(f"a contact has at most {MAX_ADDRESSES} addresses")
    if any(len(a) > MAX_ADDRESS for a in wanted):
        raise InvalidInput(f"an address is longer than {MAX_ADDRESS} characters")
    name, phone = _line(name, "the name", MAX_NAME), _line(phone, "the phone number", MAX_PHONE)
    if len(notes) > MAX_NOTES:
        raise InvalidInput(f"the notes are longer than {MAX_NOTES} characters")
    if not name and not wanted:
        raise InvalidInput("a contact needs a name or an address")
    return name, wanted, phone, notes.replace("\r\n", "\n")


def _save(
    account_id: int, contact_id: int | None, name: str, addresses: Iterable[str], phone: str, notes: str
) -> Contact:
    name, wanted, phone, notes = _clean(name, addresses, phone, notes)
    if contact_id is None:
        if Contact.objects.filter(account_id=account_id).count() >= MAX_CONTACTS:
            raise InvalidInput(f"an address book holds at most {MAX_CONTACTS} contacts")
        row = Contact.objects.create(account_id=account_id, name=name, phone=phone, notes=notes)
    else:
        row = Contact.objects.select_for_update().filter(account_id=account_id, pk=contact_id).first()
        if row is None:
            raise NotFound("no such contact")
        row.name, row.phone, row.notes, row.auto, row.updated = name, phone, notes, False, timezone.now()
        row.save()
    _claim(account_id, row, wanted)
    return row


@atomic
def save_contact(
    account_id: int, contact_id: int | None, *, name: str, addresses: Iterable[str], phone: str = "", notes: str = ""
) -> ContactInfo:
    """Create (contact_id None) or replace a contact; InvalidInput names what is wrong."""
    row = _save(account_id, contact_id, name, addresses, phone, notes)
    return get_contact(account_id, row.id)


@atomic
def delete_contact(account_id: int, contact_id: int) -> None:
    if not Contact.objects.filter(account_id=account_id, pk=contact_id).delete()[0]:
        raise NotFound("no such contact")


@atomic
def remember_recipients(account_id: int, people: Iterable[tuple[str, str]]) -> int:
    """Add the people the account wrote to ((name, address) pairs) that are in
    no contact yet, as automatic contacts; how many were added. What is not
    an address is skipped, a long name cut, and nobody is added to a full
    address book (MAX_CONTACTS): sending mail never fails here."""
    wanted: dict[str, str] = {}
    for name, address in people:
        try:
            key = normalize_address(address)
        except InvalidInput:
            continue
        if len(key) <= MAX_ADDRESS:
            wanted.setdefault(key, _line(name[:MAX_NAME], "the name", MAX_NAME))
    known = set(
        ContactAddress.objects.filter(account_id=account_id, address__in=list(wanted)).values_list("address", flat=True)
    )
    new = [(address, name) for address, name in wanted.items() if address not in known]
    if not new:
        return 0
    new = new[: max(0, MAX_CONTACTS - Contact.objects.filter(account_id=account_id).count())]
    for address, name in new:
        contact = Contact.objects.create(account_id=account_id, name=name, auto=True)
        ContactAddress.objects.create(contact=contact, account_id=account_id, address=address)
    return len(new)


@atomic
def contact_suggestions(account_id: int, prefix: str, limit: int = 8) -> list[tuple[str, str]]:
    """(name, address) of contacts whose name or address contains prefix,
    those made by hand first."""
    text = prefix.strip()
    if len(text) < 2:
        return []
    rows = (
        ContactAddress.objects.filter(account_id=account_id)
        .filter(Q(address__icontains=text) | Q(contact__name__icontains=text))
        .order_by("contact__auto", "contact__name", "address")
        .values_list("contact__name", "address")[:limit]
    )
    return [(name, address) for name, address in rows]
