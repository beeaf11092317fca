"""TLS contexts for every listener: certificate from settings, or a
self-signed one generated under var/tls/ on first start (embedded default)."""

from __future__ import annotations

import datetime
import ipaddress
import logging
import ssl
from pathlib import Path

from django.conf import settings

from mailboxes.certificates import configured_paths
from mailhost.privatefile import write_private

log = logging.getLogger("protocols.tls")


def certificate_paths() -> tuple[Path, Path]:
    cert, key = configured_paths()
    if not settings.MAIL_TLS_CERT and (not cert.exists() or not key.exists()):
        generate_self_signed(cert, key, settings.MAIL_HOSTNAME)
    return cert, key


def self_signed_certificate(
    names: list[str],
    *,
    days: float = 1,
    addresses: tuple[str, ...] = (),
    ca: bool = False,
    rsa: bool = False,
    extensions: tuple[tuple[object, bool], ...] = (),
) -> tuple[bytes, bytes]:
    """(certificate PEM, PKCS#8 key PEM), self-signed: the first name as its
    CN, every name (and address) as a subjectAltName, valid from five minutes
    ago for `days`; a P-256 key, or RSA 2048 where rsa is set (what the
    embedded default's listeners offer, for old clients). ca: BasicConstraints
    CA (critical), so that a client may trust the certificate itself;
    extensions: further (x509 extension, critical) pairs."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric import rsa as rsa_keys
    from cryptography.x509.oid import NameOID

    key = (
        rsa_keys.generate_private_key(public_exponent=65537, key_size=2048)
        if rsa
        else ec.generate_private_key(ec.SECP256R1())
    )
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    now = datetime.datetime.now(datetime.UTC)
    alt_names: list[x509.GeneralName] = [x509.DNSName(n) for n in names]
    alt_names += [x509.IPAddress(ipaddress.ip_address(a)) for a in addresses]
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
    )
    if ca:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)  # type: ignore[arg-type]
    certificate = builder.sign(key, hashes.SHA256())
    return (
        certificate.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    )


def generate_self_signed(cert_path: Path, key_path: Path, hostname: str, valid_days: int = 3650) -> None:
    """The embedded default's certificate, written to its files (the key private)."""
    cert_pem, key_pem = self_signed_certificate(
        [hostname, "localhost"], days=valid_days, addresses=("127.0.0.1",), ca=True, rsa=True
    )
    write_private(key_path, key_pem)
    write_private(cert_path, cert_pem)
    log.info("generated a self-signed TLS certificate for %s at %s", hostname, cert_path)


_contexts: dict[tuple[Path, Path], ssl.SSLContext] = {}
# what the files were (inode, size, mtime) when each context last loaded them
_loaded: dict[tuple[Path, Path], tuple[tuple[int, int, int], ...]] = {}


def _signature(cert: Path, key: Path) -> tuple[tuple[int, int, int], ...]:
    try:
        return tuple((s.st_ino, s.st_size, s.st_mtime_ns) for s in (cert.stat(), key.stat()))
    except OSError:
        return ()


def server_context() -> ssl.SSLContext:
    """The process's one server context for the configured certificate: TLS
    1.2 minimum with the library's modern default ciphers. Every listener
    shares it, so reload() changes what every new handshake presents."""
    cert, key = certificate_paths()
    context = _contexts.get((cert, key))
    if context is None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.options |= ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE
        _loaded[(cert, key)] = _signature(cert, key)
        context.load_cert_chain(str(cert), str(key))
        _contexts[(cert, key)] = context
    return context


def reload() -> None:
    """Load the certificate and key files again into the shared contexts
    (SIGHUP after a renewal). Connections already established keep their
    session; new handshakes get the new pair. A bad pair leaves the old one
    in place and says so."""
    for (cert, key), context in _contexts.items():
        try:
            _loaded[(cert, key)] = _signature(cert, key)
            context.load_cert_chain(str(cert), str(key))
        except (OSError, ssl.SSLError) as exc:
            log.error("TLS reload of %s failed, keeping the old certificate: %s", cert, exc)
        else:
            log.info("TLS certificate reloaded from %s", cert)


def reload_if_changed() -> bool:
    """reload() when a certificate or key file changed since it was loaded
    (a renewal by `manage.py certificate` or the Celery task, possibly on
    another machine sharing the files). Each worker calls this every
    MAIL_TLS_RELOAD_INTERVAL seconds; True when it reloaded."""
    if not any(_signature(cert, key) != seen for (cert, key), seen in _loaded.items()):
        return False
    reload()
    return True
