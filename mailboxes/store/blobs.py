"""Stored bytes: a message hashed and parsed once, and its Blob row written.

Messages are content-addressed by SHA-256 (DESIGN rule 4): every writer
(append, delivery, import, restore) prepares the bytes here, outside any
transaction (CPU work holds no lock), and stores them with
:func:`insert_blob`, which reuses a row stored already without locking it.
This module imports neither messages nor delivery, which both use it.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from typing import Any

from django.db import connection, connections

from .. import mime
from ..models import Blob
from ._sql import placeholders, table


@dataclass(frozen=True)
class PreparedBlob:
    """Bytes hashed and parsed outside any transaction (CPU work holds no lock)."""

    sha256: str
    raw: bytes
    parsed: mime.ParsedMessage


def prepare(raw: bytes) -> PreparedBlob:
    return PreparedBlob(hashlib.sha256(raw).hexdigest(), raw, mime.analyze(raw))


def _nul_free(value: Any) -> Any:
    """PostgreSQL text and jsonb cannot hold NUL characters."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, list):
        return [_nul_free(v) for v in value]
    if isinstance(value, dict):
        return {k: _nul_free(v) for k, v in value.items()}
    return value


def blob_row(blob: PreparedBlob) -> Blob:
    """The unsaved Blob row for prepared bytes (callers insert it with ignore_conflicts)."""
    p = blob.parsed
    return Blob(
        sha256=blob.sha256,
        data=blob.raw,
        size=len(blob.raw),
        header_bytes=p.header_bytes,
        envelope=_nul_free(p.envelope),
        structure=_nul_free(p.structure),
        subject=_nul_free(p.subject),
        from_text=_nul_free(p.from_),
        to_text=_nul_free(p.to),
        cc_text=_nul_free(p.cc),
        bcc_text=_nul_free(p.bcc),
        sent_date=p.date,
        sent_day=p.date.date() if p.date else None,
        message_id=_nul_free(p.message_id)[:2000],
        header_text=_nul_free(blob.raw[: p.header_bytes].decode("utf-8", "replace")),
        body_text=_nul_free(p.text),
        preview=_nul_free(p.preview)[:300],
        has_attachments=p.has_attachments,
    )


BLOB_FIELDS = Blob._meta.concrete_fields


def blob_params(blob: PreparedBlob) -> list[object]:
    """The values of blob_row(blob), in BLOB_FIELDS order, ready for a statement."""
    row = blob_row(blob)
    # This thread's connection, looked up once: through the proxy each field
    # that adapts its value would look it up again (a thread-local read each).
    conn = connections[connection.alias]
    return [f.get_db_prep_save(getattr(row, f.attname), conn) for f in BLOB_FIELDS]


@functools.cache
def blob_columns() -> str:  # the same on both backends (see _sql.table)
    return ", ".join(connection.ops.quote_name(f.column) for f in BLOB_FIELDS)


def insert_blob(blob: PreparedBlob) -> None:
    """The bytes and their facts, unless stored already (or by a racing
    writer): new bytes are the common case, so insert at once (one round
    trip, not a look first)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table(Blob)} ({blob_columns()}) VALUES ({placeholders(len(BLOB_FIELDS))}) "
            f"ON CONFLICT (sha256) DO NOTHING",
            blob_params(blob),
        )
