"""vCard (RFC 6350) import and export of the address book, read and written
with vobject. Group membership travels as CATEGORIES (RFC 6350 6.7.1), one
value per group the contact is in: it exists in vCard 3.0 and 4.0 alike and
is what address books read as groups or labels (KIND:group with MEMBER is
4.0 only and needs a UID on every card). Import puts a contact in the groups
its card names, making any that are missing; it takes it out of none.
"""

from __future__ import annotations

from collections import defaultdict

import vobject

from ..models import ContactAddress, ContactGroup
from ._db import atomic
from .addresses import normalize_address
from .contact_groups import join_groups
from .contacts import MAX_NOTES, MAX_PHONE, _save, list_contacts
from .errors import InvalidInput

__all__ = ["export_vcards", "import_vcards"]

MAX_VCARD_BYTES = 5 * 1024 * 1024


def _value(card, key: str) -> str:  # type: ignore[no-untyped-def]
    item = card.contents.get(key)
    return str(item[0].value) if item else ""


def _categories(card) -> list[str]:  # type: ignore[no-untyped-def]
    """Every CATEGORIES value of the card (the property may repeat)."""
    out: list[str] = []
    for item in card.contents.get("categories", []):
        values = item.value if isinstance(item.value, list) else [item.value]
        out.extend(str(v) for v in values)
    return out


@atomic
def import_vcards(account_id: int, data: str) -> int:
    """Add or update contacts from vCards: a card whose address is already a
    contact's updates that contact. How many cards were read."""
    if len(data) > MAX_VCARD_BYTES:
        raise InvalidInput("the vCard file is too large")
    try:
        cards = list(vobject.readComponents(data, ignoreUnreadable=True))
    except Exception as exc:  # vobject raises its own ParseError and ValueError alike
        raise InvalidInput(f"not a vCard file: {exc}") from exc
    count = 0
    for card in cards:
        if card.name != "VCARD":
            continue
        name = _value(card, "fn")
        addresses = [str(e.value) for e in card.contents.get("email", [])]
        phone, notes = _value(card, "tel"), _value(card, "note")
        valid = []
        for address in addresses:
            try:
                valid.append(normalize_address(address))
            except InvalidInput:
                continue
        if not name and not valid:
            continue
        held = (
            ContactAddress.objects.filter(account_id=account_id, address__in=valid)
            .values_list("contact_id", flat=True)
            .first()
        )
        contact = _save(account_id, held, name, valid, phone[:MAX_PHONE], notes[:MAX_NOTES])
        join_groups(account_id, contact, _categories(card))
        count += 1
    return count


@atomic
def export_vcards(account_id: int) -> str:
    """Every contact as a vCard 3.0 (what address books read most widely),
    its groups as CATEGORIES."""
    groups: dict[int, list[str]] = defaultdict(list)
    for contact_id, group in ContactGroup.members.through.objects.filter(
        contactgroup__account_id=account_id
    ).values_list("contact_id", "contactgroup__name"):
        groups[contact_id].append(group)
    out = []
    for contact in list_contacts(account_id):
        card = vobject.vCard()
        card.add("fn").value = contact.name or (contact.addresses or ("",))[0]
        parts = (contact.name or "").rsplit(" ", 1)
        card.add("n").value = vobject.vcard.Name(family=parts[-1] if len(parts) > 1 else "", given=parts[0])
        for address in contact.addresses:
            email = card.add("email")
            email.value, email.type_param = address, "INTERNET"
        if contact.phone:
            card.add("tel").value = contact.phone
        if contact.notes:
            card.add("note").value = contact.notes
        if groups[contact.id]:
            card.add("categories").value = sorted(groups[contact.id], key=str.lower)
        out.append(card.serialize())
    return "".join(out)
