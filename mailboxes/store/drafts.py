"""The sender's own copies: drafts saved and replaced, sent mail filed.

Folders are found by their special use (RFC 6154), so a user who renamed
Sent or Drafts keeps them working; an account that lacks one gets it back.
"""

from __future__ import annotations

from django.db.models import Q

from ..models import Folder, Message
from . import blobs, folders, messages
from ._db import atomic
from .flags import set_flags
from .types import SPECIAL_FOLDERS, AppendResult


def special_folder(account_id: int, use: str, *, lock: bool = False) -> Folder:
    """The account's folder with this special use, created under its usual name if missing."""
    qs = Folder.objects.select_for_update() if lock else Folder.objects
    folder = qs.filter(owner_id=account_id, special_use=use).order_by("pk").first()
    if folder is not None:
        return folder
    name = {u: n for n, u in SPECIAL_FOLDERS}[use]
    existing = qs.filter(owner_id=account_id, name=name).first()
    if existing is not None:
        return existing
    return folders._create(account_id, name, use)


def _file(account_id: int, use: str, blob: blobs.PreparedBlob, flags: tuple[str, ...]) -> AppendResult:
    folder = special_folder(account_id, use)
    return messages._append(account_id, folder.name, blob, flags, None)


@atomic
def _save_draft(account_id: int, blob: blobs.PreparedBlob, replaces: int | None) -> AppendResult:
    result = _file(account_id, "\\Drafts", blob, ("\\Draft", "\\Seen"))
    if replaces is not None and replaces != result.uid:
        messages.delete_messages(account_id, result.folder_id, [(replaces, replaces)])
    return result


def save_draft(account_id: int, raw: bytes, *, replaces: int | None = None) -> AppendResult:
    """Store a draft in Drafts and remove the version it replaces, atomically."""
    return _save_draft(account_id, blobs.prepare(raw), replaces)


@atomic
def _record_sent(
    account_id: int, blob: blobs.PreparedBlob, draft_uid: int | None, answered: tuple[int, int] | None
) -> AppendResult:
    result = _file(account_id, "\\Sent", blob, ("\\Seen",))
    if draft_uid is not None:
        drafts = special_folder(account_id, "\\Drafts")
        messages.delete_messages(account_id, drafts.pk, [(draft_uid, draft_uid)])
    if answered is not None:
        folder_id, uid = answered
        if Message.objects.filter(Q(folder__owner_id=account_id), folder_id=folder_id, uid=uid).exists():
            set_flags(account_id, folder_id, [(uid, uid)], "add", ["\\Answered"])
    return result


def record_sent(
    account_id: int, raw: bytes, *, draft_uid: int | None = None, answered: tuple[int, int] | None = None
) -> AppendResult:
    """After sending: file the copy in Sent, drop the draft it came from and
    mark the message it answers \\Answered, in one transaction."""
    return _record_sent(account_id, blobs.prepare(raw), draft_uid, answered)
