"""The relay's cache of destination domains' MTA-STS policies (RFC 8461
5.1): the policy text as fetched, its id and when it expires. The relay
(protocols/relay/mtasts.py) parses and applies it."""
from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.utils import timezone

from ..models import MtaStsPolicyCache
from ._db import no_transaction


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
    MtaStsPolicyCache.objects.update_or_create(domain=domain.lower(), defaults={
        "policy_id": policy_id, "policy": policy, "fetched": now,
        "expires": now + datetime.timedelta(seconds=max_age)})
