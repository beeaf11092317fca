"""Subscriptions that outlive their folder (RFC 3501 6.3.6: "The server MUST
NOT unilaterally remove an existing mailbox name from the subscription list
even if a mailbox by that name no longer exists"). A folder that exists
carries its own ``Folder.subscribed``; these rows hold the subscribed names
of deleted folders, until the name is unsubscribed or a folder is created
under it again (and then is subscribed). Called inside the folder functions'
transactions, except :func:`lost_subscriptions`."""

from __future__ import annotations

from ..models import Subscription
from ._db import atomic

__all__ = ["keep_subscription", "lost_subscriptions", "take_lost_subscription"]


def keep_subscription(account_id: int, name: str) -> None:
    """The folder ``name``, subscribed, is being deleted: keep the name subscribed."""
    Subscription.objects.get_or_create(owner_id=account_id, name=name)


def take_lost_subscription(account_id: int, name: str) -> bool:
    """Whether ``name`` was subscribed without a folder; the row is gone now
    (a folder created under it, or UNSUBSCRIBE)."""
    deleted, _ = Subscription.objects.filter(owner_id=account_id, name=name).delete()
    return deleted > 0


@atomic
def lost_subscriptions(account_id: int) -> list[str]:
    """The subscribed names that have no folder, in name order."""
    return list(Subscription.objects.filter(owner_id=account_id).order_by("name").values_list("name", flat=True))
