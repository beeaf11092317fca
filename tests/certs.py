"""A throwaway certificate authority for tests that need TLS a client
verifies: pebble's own HTTPS, MTA-STS policy servers, MX hosts with good,
expired and wrong-name certificates."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


class TestCa:
    """A CA in directory: .pem its certificate (give it to SSL_CERT_FILE or
    REQUESTS_CA_BUNDLE); issue() signs leaves."""

    __test__ = False  # not a test class, whatever its name

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Mailhost test CA")])
        now = datetime.datetime.now(datetime.UTC)
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(self.name)
            .issuer_name(self.name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        self.pem = directory / "ca.pem"
        self.pem.write_bytes(self.certificate.public_bytes(serialization.Encoding.PEM))
        self._serial = 0

    def issue(self, names: list[str], *, expired: bool = False, chain: bool = False) -> tuple[Path, Path]:
        """A leaf for names (and 127.0.0.1): (cert.pem, key.pem); expired ended
        yesterday; with chain the file holds this CA after the leaf (DANE-TA)."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        start, end = (
            (now - datetime.timedelta(days=10), now - datetime.timedelta(days=1))
            if expired
            else (now - datetime.timedelta(days=1), now + datetime.timedelta(days=30))
        )
        alt: list[x509.GeneralName] = [x509.DNSName(n) for n in names]
        alt.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
        leaf = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(self.name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        self._serial += 1
        cert_path, key_path = self.directory / f"leaf{self._serial}.pem", self.directory / f"leaf{self._serial}-key.pem"
        cert_path.write_bytes(leaf.public_bytes(serialization.Encoding.PEM) + (self.pem.read_bytes() if chain else b""))
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        return cert_path, key_path

    def server_context(self, names: list[str], *, expired: bool = False, chain: bool = False) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*map(str, self.issue(names, expired=expired, chain=chain)))
        return context

    def spki_sha256(self) -> str:
        """This CA's "1 1" TLSA association data (hex)."""
        return spki_sha256(self.certificate)


def spki_sha256(certificate: x509.Certificate) -> str:
    import hashlib

    return hashlib.sha256(
        certificate.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    ).hexdigest()
