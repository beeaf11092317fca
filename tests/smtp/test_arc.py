"""ARC (RFC 8617; docs/DELIVERABILITY.md): a forward leaves our relay sealed
with our MX's verdicts, and dkimpy's arc_verify (as the next hop would run
it) passes the seal; at our MX a passing chain last sealed by a trusted
forwarder keeps a DMARC p=reject failure from being refused."""

from __future__ import annotations

import datetime
import smtplib

import dkim
import pytest

from mailboxes import srs, store
from mailboxes.models import Domain
from protocols.relay import arc, deliver
from tests.relay.helpers import DnsServer, txt

from .test_srs import far_side, send  # noqa: F401


def _lookup(server: DnsServer):  # type: ignore[no-untyped-def]
    def txt_of(name: bytes, timeout: float = 5) -> bytes | None:
        records = [value for kind, value in server.zone.get(name.decode().rstrip(".").lower(), []) if kind == "TXT"]
        return "".join(part.strip('"') for part in records[0].split('" "')).encode() if records else None

    return txt_of


@pytest.fixture
def sealing_key(users, dns_server, settings):  # type: ignore[no-untyped-def]
    key = store.generate_dkim_key("example.test", selector="arc", algorithm="rsa")
    dns_server.zone[key.dns_name] = [("TXT", txt(key.dns_txt))]
    settings.MAIL_ARC_DOMAIN = "example.test"
    settings.MAIL_HOSTNAME = "mx.example.test"
    yield key
    dns_server.zone.pop(key.dns_name, None)


def test_a_forward_leaves_sealed_and_the_seal_verifies(
    users,
    smtp_ports,
    far_side,  # noqa: F811
    sealing_key,  # noqa: F811
    dns_server,
):
    Domain.objects.filter(name="example.test").update(allow_external_forwards=True)
    store.create_alias("fwd@example.test", ["elsewhere@remote.test"])
    send(
        smtp_ports["smtp"],
        "bob@sender.example",
        "fwd@example.test",
        b"From: bob@sender.example\r\nTo: fwd@example.test\r\nSubject: forwarded\r\n"
        b"Message-ID: <1@sender.example>\r\n\r\nHi.\r\n",
    )
    deliver.run()
    [forwarded] = far_side.handler.to("elsewhere@remote.test")
    data = forwarded.data
    assert data.startswith(b"ARC-Seal: i=1;")
    cv, results, comment = dkim.arc_verify(data, dnsfunc=_lookup(dns_server))
    assert cv == b"pass", comment
    assert results[0]["as-domain"] == b"example.test"
    aar = data.split(b"ARC-Authentication-Results:", 1)[1].split(b"\r\nARC-", 1)[0]
    assert b"i=1; mx.example.test" in aar and b"spf=" in aar and b"dmarc=none" in aar
    # changed on the way, the seal no longer verifies
    assert dkim.arc_verify(data.replace(b"Hi.", b"Ho."), dnsfunc=_lookup(dns_server))[0] == b"fail"


def test_only_forwards_are_sealed(sealing_key, settings):
    raw = (
        b"Authentication-Results: mx.example.test; spf=pass smtp.mailfrom=a@b.example\r\nFrom: a@b.example\r\n\r\nx\r\n"
    )
    assert arc.seal(raw, "alice@example.test", store.active_dkim_key) == raw
    forward = srs.forward("a@b.example", secret=b"k", domain=settings.MAIL_SRS_DOMAIN, now=0)
    assert arc.seal(raw, forward, store.active_dkim_key).startswith(b"ARC-Seal: i=1;")


@pytest.fixture
def forwarder(dns_server):  # type: ignore[no-untyped-def]
    """forwarder.test: a list server that seals what it passes on."""
    import base64

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    public = base64.b64encode(
        key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    ).decode()
    dns_server.zone["s1._domainkey.forwarder.test"] = [("TXT", txt(f"v=DKIM1; k=rsa; p={public}"))]
    yield pem
    dns_server.zone.pop("s1._domainkey.forwarder.test", None)


def _sealed_by_forwarder(pem: bytes) -> bytes:
    # strict.test publishes p=reject and SPF -all: from the forwarder's IP it fails DMARC here
    raw = (
        b"Authentication-Results: forwarder.test; spf=pass smtp.mailfrom=bob@strict.test;\r\n"
        b" dmarc=pass header.from=strict.test\r\n"
        b"From: bob@strict.test\r\nTo: alice@example.test\r\nSubject: via the list\r\n"
        b"Message-ID: <2@strict.test>\r\n\r\nHello.\r\n"
    )
    return (
        b"".join(
            dkim.arc_sign(
                raw,
                b"s1",
                b"forwarder.test",
                pem,
                b"forwarder.test",
                include_headers=[b"from", b"to", b"subject", b"message-id"],
            )
        )
        + raw
    )


@pytest.mark.parametrize("trusted", [True, False])
def test_a_dmarc_failure_forwarded_by_a_trusted_sealer_is_accepted(users, smtp_ports, forwarder, settings, trusted):
    settings.MAIL_ARC_TRUSTED_SEALERS = ["forwarder.test"] if trusted else []
    with smtplib.SMTP("127.0.0.1", smtp_ports["smtp"]) as client:
        client.ehlo("lists.forwarder.test")
        client.mail("list-bounces@forwarder.test")
        client.rcpt("alice@example.test")
        code, _ = client.data(_sealed_by_forwarder(forwarder))
    assert code == (250 if trusted else 550)
    [counted] = store.dmarc_verdicts(datetime.datetime.now(datetime.UTC).date())
    assert (counted.disposition, counted.reason) == (("none", "trusted_forwarder") if trusted else ("reject", ""))
    if trusted:
        from .conftest import inbox

        [stored] = inbox(users["alice@example.test"].id)
        assert b"arc=pass (sealed by forwarder.test, trusted)" in stored and b"dmarc=fail" in stored
