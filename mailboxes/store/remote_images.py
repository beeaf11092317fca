"""The senders whose mail shows remote images without asking (issue #24).

The webmail blocks remote images by default (render.sanitize_html). A user may
put a message's From: address on the account's list ("Always load images from
<sender>"); the list is honoured only for mail whose author is vouched for:

- mail that came in through our MX carries our own Authentication-Results
  field (authserv-id MAIL_HOSTNAME; any field claiming that name that came
  with the message was removed at DATA): the list applies only when it says
  ``dmarc=pass`` for the From: domain. Mail that failed DMARC, or whose
  domain publishes no DMARC policy (``dmarc=none``), or whose check could not
  be made (``temperror``), shows its images only on request, list or not;
- mail without our field was written here (webmail, submission: the store
  checked that the account may use that From:), or imported. The list applies
  only when the From: domain is one of ours.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import policy
from email.parser import BytesHeaderParser

from django.conf import settings

from ..models import Domain, RemoteImageSender
from ._db import atomic
from .addresses import domain_of, normalize_address
from .errors import InvalidInput
from .webmail import message_bytes, open_message

__all__ = [
    "SenderImages",
    "allow_sender_images",
    "author_verified",
    "forget_sender_images",
    "image_senders",
    "sender_images",
]

MAX_SENDERS = 1000
_RESULT = re.compile(r"(?:^|;)\s*dmarc\s*=\s*([a-z]+)([^;]*)", re.I)
_HEADER_FROM = re.compile(r"header\.from\s*=\s*\"?([^\s;\"]+)", re.I)


@dataclass(frozen=True)
class SenderImages:
    """What the message page needs to know about a message's sender and its images."""

    sender: str  # the one From: address, normalised ("" with none or several)
    listed: bool  # on the account's "always load images" list
    verified: bool  # the author passed our checks (see the module's text)

    @property
    def always(self) -> bool:
        return bool(self.sender) and self.listed and self.verified


def author_verified(header: bytes, sender: str, *, authserv_id: str, hosted: bool) -> bool:
    """Pure: whether the message whose header this is may be trusted to come
    from sender's domain. hosted: the domain is one of ours."""
    fields = BytesHeaderParser(policy=policy.compat32).parsebytes(header).get_all("Authentication-Results") or []
    ours = [str(f) for f in fields if str(f).split(";", 1)[0].strip().split()[:1] == [authserv_id.lower()]]
    if not ours:
        return hosted
    verdict = _RESULT.search(ours[0].replace("\r\n", " ").replace("\n", " "))
    if verdict is None or verdict.group(1).lower() != "pass":
        return False
    author = _HEADER_FROM.search(verdict.group(2))
    return author is not None and author.group(1).lower().rstrip(".") == domain_of(sender)


def _one_sender(envelope: dict) -> str:
    senders = [(mailbox, host) for _n, _adl, mailbox, host in envelope.get("from") or [] if mailbox and host]
    if len(senders) != 1:
        return ""
    try:
        return normalize_address(f"{senders[0][0]}@{senders[0][1]}")
    except InvalidInput:
        return ""


@atomic
def sender_images(account_id: int, folder_id: int, uid: int) -> SenderImages:
    """The message's sender, whether it is on the account's list and whether
    the list may be honoured for this message (NotFound: not the account's)."""
    detail = open_message(account_id, folder_id, uid)
    sender = _one_sender(detail.envelope or {})
    if not sender:
        return SenderImages("", False, False)
    header = message_bytes(account_id, folder_id, uid, 0, detail.header_bytes)
    hosted = Domain.objects.filter(name=domain_of(sender)).exists()
    listed = RemoteImageSender.objects.filter(account_id=account_id, address=sender).exists()
    verified = author_verified(header, sender, authserv_id=settings.MAIL_HOSTNAME.lower(), hosted=hosted)
    return SenderImages(sender, listed, verified)


@atomic
def image_senders(account_id: int) -> tuple[str, ...]:
    """The account's list, in alphabetical order."""
    rows = RemoteImageSender.objects.filter(account_id=account_id).order_by("address")
    return tuple(rows.values_list("address", flat=True))


@atomic
def allow_sender_images(account_id: int, address: str) -> str:
    """Put an address on the account's list (once); returns it normalised."""
    sender = normalize_address(address)
    if RemoteImageSender.objects.filter(account_id=account_id).count() >= MAX_SENDERS:
        raise InvalidInput(f"at most {MAX_SENDERS} senders")
    # get_or_create takes a savepoint: the same address added at the same moment elsewhere is found, not an error
    RemoteImageSender.objects.get_or_create(account_id=account_id, address=sender)
    return sender


@atomic
def forget_sender_images(account_id: int, address: str) -> bool:
    """Take an address off the account's list; False when it was not on it."""
    try:
        sender = normalize_address(address)
    except InvalidInput:
        return False
    deleted, _rows = RemoteImageSender.objects.filter(account_id=account_id, address=sender).delete()
    return bool(deleted)
