"""What the configured TLS certificate says of itself (names, validity), for
the ACME renewal (protocols/acme.py) and the dashboard, which must not import
protocols (DESIGN.md rule 1). Only reads files."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

WARN_DAYS = 14  # the dashboard warns when the certificate expires sooner


def configured_paths() -> tuple[Path, Path]:
    """(certificate, key): MAIL_TLS_CERT/MAIL_TLS_KEY, else var/tls/ (where
    protocols/tls.py generates a self-signed pair and ACME writes its own)."""
    if settings.MAIL_TLS_CERT:
        return Path(settings.MAIL_TLS_CERT), Path(settings.MAIL_TLS_KEY)
    directory = settings.VAR_DIR / "tls"
    return directory / "cert.pem", directory / "key.pem"


@dataclass(frozen=True)
class CertificateInfo:
    path: str
    names: tuple[str, ...]
    not_before: datetime.datetime
    not_after: datetime.datetime
    issuer: str
    self_signed: bool

    @property
    def renewal_due_at(self) -> datetime.datetime:
        """Two thirds into the lifetime (Let's Encrypt's advice: 60 of 90 days)."""
        return self.not_before + (self.not_after - self.not_before) * 2 / 3

    def days_left(self, now: datetime.datetime | None = None) -> int:
        return (self.not_after - (now or datetime.datetime.now(datetime.UTC))).days

    @property
    def expires_soon(self) -> bool:
        return self.days_left() < WARN_DAYS


def tlsa_3_1_1(path: Path | None = None) -> str | None:
    """The DANE-EE record data ("3 1 1 <SHA-256 of the SPKI>", RFC 7671 5.1)
    pinning the key of the certificate at path (the configured one), or None."""
    import hashlib

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    path = path or configured_paths()[0]
    try:
        cert = x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError):
        return None
    spki = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return f"3 1 1 {hashlib.sha256(spki).hexdigest()}"


def certificate_info(path: Path | None = None) -> CertificateInfo | None:
    """The certificate at path (the configured one by default), or None when
    there is no readable certificate there."""
    from cryptography import x509

    path = path or configured_paths()[0]
    try:
        cert = x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError):
        return None
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = tuple(san.get_values_for_type(x509.DNSName))
    except x509.ExtensionNotFound:
        names = ()
    return CertificateInfo(
        path=str(path),
        names=names,
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        issuer=cert.issuer.rfc4514_string(),
        self_signed=cert.issuer == cert.subject,
    )
