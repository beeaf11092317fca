"""ACME HTTP-01 challenges (RFC 8555 8.3): written by the certificate client
(protocols/acme.py), read by the web app's /.well-known/acme-challenge/ view;
and the hosted domains' web names the certificate may carry besides
MAIL_HOSTNAME."""

from __future__ import annotations

import datetime

from django.utils import timezone

from ..models import AcmeChallenge, Domain
from ._db import atomic, no_transaction

STALE_AFTER = datetime.timedelta(hours=1)  # an order that crashed leaves its tokens; nothing lives longer


@atomic
def put_acme_challenge(token: str, key_authorization: str) -> None:
    """Publish a challenge's key authorization under its token (replacing a
    stale one) and forget tokens left behind by orders that never finished."""
    AcmeChallenge.objects.filter(created__lt=timezone.now() - STALE_AFTER).delete()
    AcmeChallenge.objects.update_or_create(token=token, defaults={"key_authorization": key_authorization})


@no_transaction
def acme_challenge_response(token: str) -> str | None:
    """The key authorization published under token, or None."""
    return AcmeChallenge.objects.filter(token=token).values_list("key_authorization", flat=True).first()


@no_transaction
def remove_acme_challenges(tokens: list[str]) -> None:
    AcmeChallenge.objects.filter(token__in=tokens).delete()


@no_transaction
def hosted_web_names() -> list[str]:
    """The names under which clients reach our web app over HTTPS for the
    active hosted domains: autoconfig.<domain> and autodiscover.<domain>
    (client configuration) for each, mta-sts.<domain> for each that publishes
    an MTA-STS policy (RFC 8461 3.3). By domain name."""
    names: list[str] = []
    for name, sts_mode in Domain.objects.filter(active=True).order_by("name").values_list("name", "mta_sts_mode"):
        names += [f"autoconfig.{name}", f"autodiscover.{name}"] + ([f"mta-sts.{name}"] if sts_mode else [])
    return names
