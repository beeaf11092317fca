"""MTA-STS (RFC 8461) in the store: our hosted domains' own policies (mode
and id, set by admin_update_domain, served by mailboxes/mta_sts.py), and the
relay's cache of destination domains' policies (5.1): the policy text as
fetched, its id and when it expires. The relay (protocols/relay/mtasts.py)
parses and applies those."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.utils import timezone

from ..models import Domain, MtaStsPolicyCache
from ._db import no_transaction

MTA_STS_MODES = ("", "none", "testing", "enforce")  # "": no policy published


@dataclass(frozen=True)
class PublishedStsPolicy:
    domain: str
    mode: str  # none | testing | enforce
    policy_id: str


@no_transaction
def published_sts_policy(domain: str) -> PublishedStsPolicy | None:
    """The policy a hosted, active domain publishes, or None."""
    row = (
        Domain.objects.filter(name=domain.lower().rstrip("."), active=True)
        .exclude(mta_sts_mode="")
        .values_list("name", "mta_sts_mode", "mta_sts_id")
        .first()
    )
    return PublishedStsPolicy(*row) if row else None


@dataclass(frozen=True)
class CachedStsPolicy:
    domain: str
    policy_id: str
    policy: str
    fetched: datetime.datetime
    expires: datetime.datetime


@no_transaction
def cached_sts_policy(domain: str) -> CachedStsPolicy | None:
    """The cached policy of domain while it has not expired, else None."""
    row = MtaStsPolicyCache.objects.filter(domain=domain.lower(), expires__gt=timezone.now()).first()
    if row is None:
        return None
    return CachedStsPolicy(row.domain, row.policy_id, row.policy, row.fetched, row.expires)


@no_transaction
def save_sts_policy(domain: str, policy_id: str, policy: str, max_age: int) -> None:
    """Cache a freshly fetched policy for max_age seconds (update_or_create runs in its own transaction)."""
    now = timezone.now()
    MtaStsPolicyCache.objects.update_or_create(
        domain=domain.lower(),
        defaults={
            "policy_id": policy_id,
            "policy": policy,
            "fetched": now,
            "expires": now + datetime.timedelta(seconds=max_age),
        },
    )
