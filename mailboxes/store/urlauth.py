"""URLAUTH (RFC 4467): each mailbox's access key, which never leaves the
store. GENURLAUTH asks :func:`urlauth_sign` for a rump URL's verifier
(made with the key, which is created on first use); URLFETCH asks
:func:`urlauth_check` whether a verifier is right for the named owner's
mailbox, and learns where the mailbox is; RESETKEY drops keys
(:func:`urlauth_reset`), so every URL signed with them fails from then on.

The INTERNAL mechanism (RFC 4467 7) is HMAC-SHA256 of the rump URL under
the 256-bit key, as 64 hex digits."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from ..models import Folder
from ._db import atomic
from .addresses import normalize_address
from .errors import InvalidInput
from .folders import get_folder, normalize_name

__all__ = ["UrlAuthMailbox", "urlauth_check", "urlauth_reset", "urlauth_sign"]


@dataclass(frozen=True, slots=True)
class UrlAuthMailbox:
    """Where a verified URL's mailbox is: its owner and the folder."""

    account_id: int
    folder_id: int
    uidvalidity: int


def _verifier(key: bytes, rump: str) -> str:
    return hmac.new(key, rump.encode("utf-8"), hashlib.sha256).hexdigest()


@atomic
def urlauth_sign(account_id: int, folder_name: str, rump: str) -> str:
    """The INTERNAL verifier of ``rump`` for this account's folder (NoSuchFolder if none)."""
    folder = get_folder(account_id, folder_name, lock=True)
    key = folder.urlauth_key
    if not key:
        key = secrets.token_bytes(32)
        Folder.objects.filter(pk=folder.pk).update(urlauth_key=key)
    return _verifier(bytes(key), rump)


@atomic
def urlauth_check(owner_address: str, folder_name: str, rump: str, verifier: str) -> UrlAuthMailbox | None:
    """The mailbox, when ``verifier`` is the one its current key gives ``rump``; else None."""
    try:
        owner, name = normalize_address(owner_address), normalize_name(folder_name)
    except InvalidInput:
        return None
    row = (
        Folder.objects.filter(owner__address=owner, name=name)
        .values("id", "owner_id", "uidvalidity", "urlauth_key")
        .first()
    )
    if row is None or not row["urlauth_key"]:
        return None
    if not hmac.compare_digest(_verifier(bytes(row["urlauth_key"]), rump), verifier.lower()):
        return None
    return UrlAuthMailbox(row["owner_id"], row["id"], row["uidvalidity"])


@atomic
def urlauth_reset(account_id: int, folder_name: str | None = None) -> None:
    """RESETKEY: new keys (made on next use) for one folder, or all the account's."""
    folders = Folder.objects.filter(owner_id=account_id)
    if folder_name is not None:
        folders = folders.filter(pk=get_folder(account_id, folder_name).pk)
    folders.update(urlauth_key=None)
