"""Which names a certificate carries besides MAIL_HOSTNAME
(protocols/acme.hosted_names, MAIL_ACME_HOSTED_NAMES): the hosted domains'
autoconfig./autodiscover. names, and mta-sts. for a domain with a policy;
with "dns" only those whose addresses are MAIL_HOSTNAME's. Ordered with
pebble in tests/tls/test_acme.py."""

from __future__ import annotations

import pytest

from mailboxes.models import Domain
from protocols import acme
from tests.relay.helpers import DnsServer

HOSTNAME = "mail.example.test"
ZONE = {
    HOSTNAME: [("A", "192.0.2.10"), ("AAAA", "2001:db8::10")],
    "autoconfig.example.test": [("A", "192.0.2.10")],
    "autodiscover.example.test": [("AAAA", "2001:db8::10")],
    "mta-sts.example.test": [("A", "192.0.2.10")],
    "autoconfig.other.test": [("A", "198.51.100.7")],  # points elsewhere
    "mta-sts.other.test": [("A", "192.0.2.10")],  # points here, but other.test publishes no policy
}


@pytest.fixture
def zone(settings, users):  # type: ignore[no-untyped-def]
    server = DnsServer(ZONE)
    settings.MAIL_HOSTNAME = HOSTNAME
    Domain.objects.filter(name="example.test").update(mta_sts_mode="enforce")
    yield server
    server.close()


@pytest.mark.parametrize(
    "mode, expected",
    [
        ("dns", ["autoconfig.example.test", "autodiscover.example.test", "mta-sts.example.test"]),
        (
            "all",
            [
                "autoconfig.example.test",
                "autodiscover.example.test",
                "mta-sts.example.test",
                "autoconfig.other.test",
                "autodiscover.other.test",
            ],
        ),
        ("none", []),
    ],
)
def test_the_hosted_domains_names_go_on_the_certificate_as_the_setting_says(zone, settings, mode, expected):
    settings.MAIL_ACME_HOSTED_NAMES = mode
    assert acme.hosted_names(zone.resolver()) == expected


def test_an_inactive_domain_or_one_whose_policy_is_withdrawn_brings_no_names(zone, settings):
    Domain.objects.filter(name="example.test").update(mta_sts_mode="")
    Domain.objects.filter(name="other.test").update(active=False)
    settings.MAIL_ACME_HOSTED_NAMES = "all"
    assert acme.hosted_names(zone.resolver()) == ["autoconfig.example.test", "autodiscover.example.test"]


def test_when_mail_hostname_does_not_resolve_no_hosted_name_is_asked_for(zone, settings):
    settings.MAIL_HOSTNAME = "unknown.example.test"
    assert acme.hosted_names(zone.resolver()) == []
