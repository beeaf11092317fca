"""Certificates from an ACME CA (RFC 8555) with the `acme` library.

- `manage.py certificate` and the renewal task (protocols/tasks.py, on
  celery beat) call obtain(): an order for MAIL_HOSTNAME, the hosted
  domains' autoconfig., autodiscover. and mta-sts. names that point at us
  (hosted_names, MAIL_ACME_HOSTED_NAMES), and any names given, each
  authorization answered by MAIL_ACME_CHALLENGE (or the command's
  --challenge): HTTP-01 (RFC 8555 8.3; the key authorization goes
  into the database, store.put_acme_challenge, and every web process serves
  it at /.well-known/acme-challenge/<token>), or TLS-ALPN-01 (RFC 8737;
  this process answers on MAIL_ACME_TLS_ALPN_PORT, protocols/acme_alpn.py).
- The CA is MAIL_ACME_DIRECTORY (Let's Encrypt by default); the CA bundle
  that verifies its HTTPS is REQUESTS_CA_BUNDLE, read by requests, which the
  `acme` library uses.
- The account key lives in var/acme/account-key.pem; the certificate chain
  and its key go where protocols/tls.py loads them (MAIL_TLS_CERT/KEY, or
  var/tls/). Every private file is created with mode 0600 (mailhost.privatefile.write_private).
- The certificate key is kept across renewals (a DANE 3 1 1 record pinning
  it stays true); delete the key file to roll it.
- Workers notice the new files by their own periodic check
  (tls.reload_if_changed, every MAIL_TLS_RELOAD_INTERVAL seconds) and load
  them as SIGHUP would: new handshakes get the new pair, open sessions carry
  on. No signal has to reach processes on other machines sharing the files.
- renew_if_due() renews once two thirds of the current certificate's
  lifetime have passed (Let's Encrypt's advice: 60 of 90 days), and only
  after `manage.py certificate` made an account: the embedded default's
  self-signed pair is never sent to a CA by itself.
"""

from __future__ import annotations

import datetime
import logging
from pathlib import Path

import dns.resolver
from django.conf import settings

from mailboxes import certificates, store
from mailboxes.certificates import CertificateInfo
from mailboxes.dns import DnsTemporary, default_resolver

from . import tls
from .relay import mx

log = logging.getLogger("protocols.acme")

USER_AGENT = "mailhost"
ORDER_TIMEOUT = datetime.timedelta(seconds=120)


def account_key_path() -> Path:
    return settings.VAR_DIR / "acme" / "account-key.pem"


def certificate_info(path: Path | None = None) -> CertificateInfo:
    path = path or tls.certificate_paths()[0]
    info = certificates.certificate_info(path)
    if info is None:
        raise RuntimeError(f"no readable certificate at {path}")
    return info


def _account_key():  # type: ignore[no-untyped-def]
    import josepy
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    path = account_key_path()
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    else:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        tls.write_private(
            path,
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ),
        )
        log.info("ACME: new account key in %s", path)
    return josepy.JWKRSA(key=key)


def _client():  # type: ignore[no-untyped-def]
    from acme import client, errors, messages

    net = client.ClientNetwork(_account_key(), user_agent=USER_AGENT)
    acme = client.ClientV2(client.ClientV2.get_directory(settings.MAIL_ACME_DIRECTORY, net), net)
    try:
        acme.new_account(messages.NewRegistration.from_data(terms_of_service_agreed=True))
    except errors.ConflictError as exists:  # RFC 8555 7.3.1: this key already has an account
        acme.query_registration(messages.RegistrationResource(uri=exists.location, body=messages.Registration()))
    return acme


def _certificate_key_pem(key_path: Path, keep: bool) -> bytes:
    """The current key when kept (across renewals), else a new one."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    if keep and key_path.exists():
        return key_path.read_bytes()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


class _Http01:
    """HTTP-01 (RFC 8555 8.3): key authorizations in the database, served by
    every web process at /.well-known/acme-challenge/<token>."""

    typ = "http-01"

    def __init__(self) -> None:
        self.tokens: list[str] = []

    def add(self, name: str, token: str, validation: str) -> None:
        store.put_acme_challenge(token, validation)
        self.tokens.append(token)

    def close(self) -> None:
        store.remove_acme_challenges(self.tokens)


class _TlsAlpn01:
    """TLS-ALPN-01 (RFC 8737): this process answers on MAIL_ACME_TLS_ALPN_PORT
    while the order lasts (protocols/acme_alpn.py)."""

    typ = "tls-alpn-01"

    def __init__(self) -> None:
        from . import acme_alpn

        self.responder = acme_alpn.Responder(settings.MAIL_ACME_TLS_ALPN_PORT)

    def add(self, name: str, token: str, validation: str) -> None:
        self.responder.add(name, validation)

    def close(self) -> None:
        self.responder.close()


CHALLENGES: dict[str, type[_Http01] | type[_TlsAlpn01]] = {"http-01": _Http01, "tls-alpn-01": _TlsAlpn01}


def obtain(extra_names: tuple[str, ...] = (), challenge: str | None = None) -> CertificateInfo:
    """Order a certificate for MAIL_HOSTNAME (and extra_names), answering
    each authorization by challenge (MAIL_ACME_CHALLENGE when None), and
    install it where the workers load it from. Raises the `acme` library's
    errors when the CA refuses or a challenge fails, OSError when the
    TLS-ALPN-01 port cannot be listened on; the files then stay as they were."""
    from acme import crypto_util

    from . import acme_alpn  # noqa: F401  (registers the tls-alpn-01 challenge type with the library)

    names = list(dict.fromkeys(n.lower().rstrip(".") for n in (settings.MAIL_HOSTNAME, *hosted_names(), *extra_names)))
    cert_path, key_path = tls.certificate_paths()
    # The self-signed key of the embedded default is not worth keeping.
    key_pem = _certificate_key_pem(key_path, keep=bool(settings.MAIL_TLS_CERT) or not _self_signed(cert_path))
    answering = CHALLENGES[challenge or settings.MAIL_ACME_CHALLENGE]()  # first: a port in use orders nothing
    try:
        acme = _client()
        order = acme.new_order(crypto_util.make_csr(key_pem, names))
        for authorization in order.authorizations:
            name = authorization.body.identifier.value
            offered = next((c for c in authorization.body.challenges if c.chall.typ == answering.typ), None)
            if offered is None:
                raise RuntimeError(f"the CA offers no {answering.typ} challenge for {name}")
            response, validation = offered.response_and_validation(acme.net.key)
            answering.add(name, offered.chall.encode("token"), validation)
            acme.answer_challenge(offered, response)
        deadline = datetime.datetime.now() + ORDER_TIMEOUT
        finished = acme.poll_and_finalize(order, deadline)
    finally:
        answering.close()
    # Key first: a worker checking in between sees a pair that does not match,
    # keeps the old one and loads the new pair when the certificate follows.
    if not key_path.exists() or key_path.read_bytes() != key_pem:
        tls.write_private(key_path, key_pem)
    tls.write_private(cert_path, finished.fullchain_pem.encode())
    info = certificate_info(cert_path)
    log.info(
        "ACME: certificate for %s installed in %s, valid until %s",
        ", ".join(info.names),
        cert_path,
        info.not_after.isoformat(),
    )
    return info


HOSTED_PREFIXES = ("autoconfig.", "autodiscover.", "mta-sts.")


def hosted_names(resolver: dns.resolver.Resolver | None = None) -> list[str]:
    """The hosted domains' web names (store.hosted_web_names) a certificate
    carries besides MAIL_HOSTNAME, as MAIL_ACME_HOSTED_NAMES says: "dns"
    those whose addresses are among MAIL_HOSTNAME's (a CNAME to it, or the
    same A/AAAA records), since a name the CA cannot reach here fails the
    whole order; "all" every one; "none" none."""
    mode = settings.MAIL_ACME_HOSTED_NAMES
    if mode == "none":
        return []
    candidates = store.hosted_web_names()
    if mode == "all" or not candidates:
        return candidates
    resolver = resolver or default_resolver()
    ours = _addresses(settings.MAIL_HOSTNAME, resolver)
    chosen = [name for name in candidates if ours & _addresses(name, resolver)]
    for name in candidates:
        if name not in chosen:
            log.info("ACME: %s is left out: its DNS does not point at %s", name, settings.MAIL_HOSTNAME)
    return chosen


def _addresses(name: str, resolver: dns.resolver.Resolver) -> set[str]:
    try:
        return set(mx.host_addresses(name, resolver))
    except DnsTemporary:
        return set()


def _self_signed(cert_path: Path) -> bool:
    info = certificates.certificate_info(cert_path)
    return info is None or info.self_signed


def renew_if_due(now: datetime.datetime | None = None) -> CertificateInfo | None:
    """obtain() again, for the names the current certificate has, once two
    thirds of its lifetime have passed; None when nothing was due (or ACME
    was never set up here)."""
    if not account_key_path().exists():
        return None
    now = now or datetime.datetime.now(datetime.UTC)
    current = certificate_info()
    if now < current.renewal_due_at:
        return None
    log.info(
        "ACME: the certificate for %s is due for renewal (expires %s)",
        ", ".join(current.names),
        current.not_after.isoformat(),
    )
    # The hosted domains' names are chosen afresh (a domain gone, or its DNS
    # moved away, would fail the order); names given with --name stay.
    return obtain(tuple(n for n in current.names if not n.startswith(HOSTED_PREFIXES)))
