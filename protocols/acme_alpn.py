"""ACME TLS-ALPN-01 (RFC 8737): the challenge type, which the `acme`
library no longer ships, and a responder that answers it.

The CA connects to port 443 (MAIL_ACME_TLS_ALPN_PORT here: a port forward,
or a TLS router that sends the ALPN protocol acme-tls/1 to it, when 443
belongs to the HTTPS proxy) of the name being validated, sends that name as
SNI and offers only the ALPN protocol "acme-tls/1" (3). The responder
completes the handshake with a self-signed certificate for that one name
carrying the critical id-pe-acmeIdentifier extension, the SHA-256 of the
key authorization (3), and then closes the connection: no data follows (4).

The responder lives only as long as an order (protocols/acme.obtain): a
thread per connection, nothing shared with the mail listeners. A client
that sends no SNI or an unknown name fails its handshake. (One that offers
no ALPN at all is not refused: OpenSSL decides that after the certificate is
chosen. It gets a certificate whose critical, unknown extension no ordinary
TLS client accepts.)
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import socketserver
import ssl
import tempfile
import threading
from pathlib import Path
from typing import Any

import josepy
from acme import challenges

from protocols import tls

log = logging.getLogger("protocols.acme")

ALPN_PROTOCOL = "acme-tls/1"
ACME_IDENTIFIER_OID = "1.3.6.1.5.5.7.1.31"  # id-pe-acmeIdentifier (RFC 8737 6.1)
HANDSHAKE_TIMEOUT = 10.0


@challenges.ChallengeResponse.register
class TLSALPN01Response(challenges.KeyAuthorizationChallengeResponse):
    """The answer to a TLS-ALPN-01 challenge (RFC 8737 3): an empty object."""

    typ = "tls-alpn-01"


@challenges.Challenge.register
class TLSALPN01(challenges.KeyAuthorizationChallenge):
    """RFC 8737 3; its validation is the key authorization itself, which the
    responder hashes into the challenge certificate."""

    response_cls = TLSALPN01Response
    typ = response_cls.typ

    def validation(self, account_key: josepy.JWK, **unused_kwargs: Any) -> str:
        return self.key_authorization(account_key)


def challenge_certificate(name: str, key_authorization: str) -> tuple[bytes, bytes]:
    """(certificate PEM, key PEM): self-signed, for name alone, with the
    critical acmeIdentifier extension (RFC 8737 3: the extension's value is
    the DER OCTET STRING of SHA-256 over the key authorization)."""
    from cryptography import x509

    digest = hashlib.sha256(key_authorization.encode("ascii")).digest()
    identifier = x509.UnrecognizedExtension(x509.ObjectIdentifier(ACME_IDENTIFIER_OID), b"\x04\x20" + digest)
    return tls.self_signed_certificate([name], extensions=((identifier, True),))


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], responder: Responder) -> None:
        self.responder = responder
        super().__init__(address, _Handshake)


class _Handshake(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        self.request.settimeout(HANDSHAKE_TIMEOUT)
        try:
            with self.server.responder.base.wrap_socket(self.request, server_side=True) as tls:
                log.info(
                    "ACME: TLS-ALPN-01 answered %s (ALPN %s)", self.client_address[0], tls.selected_alpn_protocol()
                )
        except (OSError, ssl.SSLError) as exc:  # a wrong name, no ALPN, a port scanner: their problem
            log.info("ACME: TLS-ALPN-01 handshake from %s failed: %s", self.client_address[0], exc.__class__.__name__)


class Responder:
    """Answers TLS-ALPN-01 for the names added, on port (every address)
    until closed. Use as a context manager."""

    def __init__(self, port: int, host: str = "") -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="acme-alpn-"))  # 0700: the keys are private
        self._contexts: dict[str, ssl.SSLContext] = {}
        self._lock = threading.Lock()
        self.base = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.base.minimum_version = ssl.TLSVersion.TLSv1_2  # RFC 8737 4
        self.base.set_alpn_protocols([ALPN_PROTOCOL])
        self.base.sni_callback = self._choose
        try:
            self._server = _Server((host, port), self)
        except OSError:
            shutil.rmtree(self._dir, ignore_errors=True)
            raise
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="acme-tls-alpn", daemon=True)
        self._thread.start()

    def add(self, name: str, key_authorization: str) -> None:
        cert_pem, key_pem = challenge_certificate(name, key_authorization)
        cert_path, key_path = self._dir / f"{len(self._contexts)}.crt", self._dir / f"{len(self._contexts)}.key"
        cert_path.write_bytes(cert_pem)
        key_path.write_bytes(key_pem)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.set_alpn_protocols([ALPN_PROTOCOL])
        context.load_cert_chain(str(cert_path), str(key_path))
        with self._lock:
            self._contexts[name.lower().rstrip(".")] = context

    def _choose(self, tls: ssl.SSLObject | ssl.SSLSocket, name: str | None, _: ssl.SSLContext) -> int | None:
        with self._lock:
            context = self._contexts.get((name or "").lower().rstrip("."))
        if context is None:
            log.info("ACME: TLS-ALPN-01 asked for %r, which has no challenge", name)
            return int(ssl.ALERT_DESCRIPTION_UNRECOGNIZED_NAME)
        log.info("ACME: TLS-ALPN-01 challenge certificate for %s", name)
        tls.context = context
        return None

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> Responder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
