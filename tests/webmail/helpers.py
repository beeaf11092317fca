"""Webmail test helpers: signed-in Django test clients, messages with parts, delivery."""

from __future__ import annotations

import base64
import struct
import zlib
from pathlib import Path

from django.contrib.auth import get_user_model
from django.test import Client

from mailboxes import store

DATA = Path(__file__).parent / "data"
HOSTILE = sorted((DATA / "hostile").glob("*.eml"))


def _png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A solid-colour PNG (RFC 2083), made here so the tests need no image files."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


PNG = _png(160, 48, (36, 86, 211))  # the "logo" of the test messages


def pdf(text: str) -> bytes:
    """A one-page PDF 1.4 that shows text (ASCII, no parentheses), made here so the tests need no files."""
    stream = f"BT /F1 18 Tf 24 72 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 144] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    return out + b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)


def signed_in(address: str) -> Client:
    client = Client()
    client.force_login(get_user_model()._default_manager.get(address=address))
    return client


def with_attachments(
    subject: str = "Report with attachments", sender: str = "bob@example.test", to: str = "alice@example.test"
) -> bytes:
    """multipart/mixed: an alternative (text + related HTML with a cid: image),
    a PDF and a text file with an RFC 2231 name."""
    png = base64.b64encode(PNG).decode()
    pdf = base64.b64encode(b"%PDF-1.4\n% fake pdf for the tests\n").decode()
    return (
        f"From: Bob Example <{sender}>\r\nTo: {to}\r\nSubject: {subject}\r\n"
        "Date: Mon, 30 Nov 2026 08:00:00 +0000\r\nMessage-ID: <att-1@example.test>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="MIX"\r\n\r\n'
        '--MIX\r\nContent-Type: multipart/alternative; boundary="ALT"\r\n\r\n'
        "--ALT\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe report is attached. See https://example.test/r\r\n"
        '--ALT\r\nContent-Type: multipart/related; boundary="REL"\r\n\r\n'
        "--REL\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        '<p>The <b>report</b> is attached.</p><img src="cid:logo@example.test" alt="logo">\r\n'
        "--REL\r\nContent-Type: image/png\r\nContent-ID: <logo@example.test>\r\nContent-Transfer-Encoding: base64\r\n"
        f"Content-Disposition: inline\r\n\r\n{png}\r\n--REL--\r\n--ALT--\r\n"
        '--MIX\r\nContent-Type: application/pdf; name="report.pdf"\r\nContent-Transfer-Encoding: base64\r\n'
        f'Content-Disposition: attachment; filename="report.pdf"\r\n\r\n{pdf}\r\n'
        "--MIX\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n"
        "Content-Disposition: attachment; filename*=utf-8''gr%C3%BC%C3%9Fe.txt\r\n\r\nGr=C3=BC=C3=9Fe\r\n"
        "--MIX--\r\n"
    ).encode()


def deliver_to(address: str, raw: bytes, mail_from: str = "bob@example.test") -> tuple[int, int]:
    """Deliver raw to address; (INBOX id, uid) of the copy."""
    account = store.get_account(address)
    report = store.deliver(raw, [address], mail_from)
    return folder_id(account.id, "INBOX"), report.delivered[account.id]


def folder_id(account_id: int, name: str) -> int:
    return next(r.id for r in store.folder_rows(account_id) if r.name == name)
