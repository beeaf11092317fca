"""The parts of the certificate machinery that need no CA: the HTTP-01
responder of the web app, owner-only files, the workers' file check, and a
renewal that never starts without an account."""

from __future__ import annotations

import os
import ssl
import stat
from pathlib import Path

from django.test import Client

from mailboxes import store
from protocols import acme, tls


def test_a_challenge_in_the_database_is_answered_as_plain_text_at_the_well_known_address(db) -> None:
    store.put_acme_challenge("tok-en_1", "tok-en_1.thumbprint")
    response = Client().get("/.well-known/acme-challenge/tok-en_1")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain") and response.content == b"tok-en_1.thumbprint"


def test_an_unknown_or_removed_token_and_anything_but_get_are_refused(db) -> None:
    store.put_acme_challenge("gone", "gone.thumbprint")
    store.remove_acme_challenges(["gone"])
    client = Client()
    assert client.get("/.well-known/acme-challenge/gone").status_code == 404
    assert client.get("/.well-known/acme-challenge/never").status_code == 404
    assert client.get("/.well-known/acme-challenge/a.b").status_code == 404  # not a base64url token
    store.put_acme_challenge("kept", "kept.thumbprint")
    assert client.post("/.well-known/acme-challenge/kept").status_code == 405


def test_private_files_are_owner_only_from_creation_even_under_a_permissive_umask(tmp_path: Path) -> None:
    previous = os.umask(0)
    try:
        target = tmp_path / "new" / "key.pem"
        tls.write_private(target, b"first")
        assert stat.S_IMODE(target.stat().st_mode) == 0o600
        assert stat.S_IMODE(target.parent.stat().st_mode) == 0o700
        tls.write_private(target, b"second")  # replaced whole, still 0600, no temporary left
        assert target.read_bytes() == b"second" and stat.S_IMODE(target.stat().st_mode) == 0o600
        assert [p.name for p in target.parent.iterdir()] == ["key.pem"]
    finally:
        os.umask(previous)


def test_a_worker_loads_the_files_again_only_when_they_changed(tmp_path: Path, settings) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    tls.generate_self_signed(cert, key, "before.example.test")
    settings.MAIL_TLS_CERT, settings.MAIL_TLS_KEY = str(cert), str(key)
    context = tls.server_context()
    assert tls.reload_if_changed() is False
    tls.generate_self_signed(cert, key, "after.example.test")
    assert tls.reload_if_changed() is True
    assert tls.reload_if_changed() is False
    assert tls.server_context() is context  # the same context every listener holds, now with the new pair
    assert _presented_name(context) == "after.example.test"


def _presented_name(server: ssl.SSLContext) -> str:
    """The certificate server presents, through an in-memory handshake."""
    client = ssl.create_default_context()
    client.check_hostname, client.verify_mode = False, ssl.CERT_NONE
    c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    c, s = client.wrap_bio(c_in, c_out), server.wrap_bio(s_in, s_out, server_side=True)
    for _ in range(10):
        for side in (c, s):
            try:
                side.do_handshake()
            except ssl.SSLWantReadError:
                pass
        s_in.write(c_out.read())
        c_in.write(s_out.read())
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    der = c.getpeercert(binary_form=True)
    assert der is not None
    return str(x509.load_der_x509_certificate(der).subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


def test_renewal_does_nothing_where_manage_py_certificate_never_made_an_account(tmp_path: Path, settings) -> None:
    settings.VAR_DIR = tmp_path
    assert acme.renew_if_due() is None
    assert not (tmp_path / "acme").exists()
