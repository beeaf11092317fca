"""DKIM keys per domain (RFC 6376): generated here, published by the admin,
used by the relay to sign."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from ..models import DkimKey
from ._db import atomic
from .accounts import _get_domain
from .errors import AlreadyExists, InvalidInput

ALGORITHMS = ("rsa", "ed25519")


@dataclass(frozen=True)
class DkimKeyInfo:
    domain: str
    selector: str
    algorithm: str
    private_key: str  # PEM
    dns_name: str  # where to publish: selector._domainkey.domain
    dns_txt: str  # what to publish

    @property
    def dkimpy_signature_algorithm(self) -> bytes:
        return b"ed25519-sha256" if self.algorithm == "ed25519" else b"rsa-sha256"


def _generate(algorithm: str) -> tuple[str, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

    if algorithm == "rsa":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
    else:  # RFC 8463: the raw 32-byte public key
        ed = ed25519.Ed25519PrivateKey.generate()
        public = ed.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        # dkimpy takes the raw 32-byte private key, base64-encoded
        pem = base64.b64encode(
            ed.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
        )
    return pem.decode(), base64.b64encode(public).decode()


def _info(key: DkimKey) -> DkimKeyInfo:
    k = "ed25519" if key.algorithm == "ed25519" else "rsa"
    return DkimKeyInfo(
        key.domain.name,
        key.selector,
        key.algorithm,
        key.private_key,
        f"{key.selector}._domainkey.{key.domain.name}",
        f"v=DKIM1; k={k}; p={key.public_key}",
    )


@atomic
def generate_dkim_key(
    domain: str, selector: str = "mail", algorithm: str = "rsa", replace: bool = False
) -> DkimKeyInfo:
    if algorithm not in ALGORITHMS:
        raise InvalidInput(f"algorithm must be one of {', '.join(ALGORITHMS)}")
    if not selector.replace("-", "").isalnum() or len(selector) > 63:
        raise InvalidInput(f"not a valid DKIM selector: {selector!r}")
    dom = _get_domain(domain)
    existing = DkimKey.objects.filter(domain=dom, selector=selector)
    if existing.exists():
        if not replace:
            raise AlreadyExists(f"{domain} already has a DKIM key with selector {selector}")
        existing.delete()
    private, public = _generate(algorithm)
    DkimKey.objects.filter(domain=dom).update(active=False)
    key = DkimKey.objects.create(
        domain=dom, selector=selector, algorithm=algorithm, private_key=private, public_key=public, active=True
    )
    return _info(key)


@atomic
def active_dkim_key(domain: str) -> DkimKeyInfo | None:
    key = DkimKey.objects.select_related("domain").filter(domain__name=domain.lower(), active=True).first()
    return _info(key) if key else None


@atomic
def list_dkim_keys(domain: str) -> list[DkimKeyInfo]:
    return [_info(k) for k in DkimKey.objects.select_related("domain").filter(domain__name=domain.lower())]
