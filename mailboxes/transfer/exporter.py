"""Export: every folder of an account, every message with its flags and
internal date, bytes exactly as stored, into a Maildir tree, a directory of
mbox files, or a zip of mbox files (the webmail download, streamed).

Messages are read through store.fetch_messages in pages of at most
CHUNK_BYTES of bytes (the store cuts a page to that budget, keeping at least
one message), so a folder of large messages never sits in memory at once.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Protocol

from mailboxes import store

from .maildir import MaildirWriter
from .mbox import mbox_entry
from .progress import Progress, Summary

PAGE = 500
CHUNK_BYTES = 8 * 1024 * 1024
TOP_UID = 2**63 - 1


class Writer(Protocol):
    def begin_folder(self, name: str) -> None: ...
    def add(self, raw: bytes, flags: frozenset[str], when) -> None: ...  # type: ignore[no-untyped-def]
    def end_folder(self) -> None: ...
    def close(self) -> None: ...


def folder_messages(account_id: int, folder_id: int) -> Iterator[store.MessageInfo]:
    """Every message of a folder with its bytes, in UID order."""
    after = 0
    while True:
        page = store.fetch_messages(
            account_id, folder_id, [(after + 1, TOP_UID)], content="full", limit=PAGE, max_bytes=CHUNK_BYTES
        )
        if not page:
            return
        yield from page
        after = page[-1].uid


class MboxWriter:
    """mboxrd, one file a folder; subclasses say where a folder's file is opened."""

    def __init__(self) -> None:
        self._out: IO[bytes] | None = None

    def _open(self, name: str) -> IO[bytes]:
        raise NotImplementedError

    def begin_folder(self, name: str) -> None:
        self._out = self._open(name)

    def add(self, raw: bytes, flags: frozenset[str], when) -> None:  # type: ignore[no-untyped-def]
        assert self._out is not None
        self._out.write(mbox_entry(raw, flags, when))

    def end_folder(self) -> None:
        if self._out:
            self._out.close()
            self._out = None

    def close(self) -> None:
        self.end_folder()


class MboxDirWriter(MboxWriter):
    """A directory of mbox files: `INBOX.mbox`, `Archive.mbox`, `Archive/2020.mbox`."""

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = root

    def _open(self, name: str) -> IO[bytes]:
        path = self.root.joinpath(*name.split("/")).with_name(name.split("/")[-1] + ".mbox")
        path.parent.mkdir(parents=True, exist_ok=True)
        return open(path, "wb")


def export_account(account_id: int, writer: Writer, progress: Progress) -> Summary:
    stopped = ""
    try:
        for _ in export_steps(account_id, writer, progress):
            pass
    except KeyboardInterrupt:
        stopped = "interrupted; the export is incomplete"
    except OSError as exc:
        stopped = f"cannot write the export: {exc.strerror or exc}"
    finally:
        writer.close()
    return progress.finish(stopped)


def export_steps(account_id: int, writer: Writer, progress: Progress) -> Iterator[None]:
    """Export message by message, yielding after each (the zip download streams on it)."""
    folders = store.all_folder_status(account_id)
    progress.start("export", [(f.name, f.messages, f.size) for f in folders])
    for folder in folders:
        progress.begin_folder(folder.name, folder.messages, folder.size)
        writer.begin_folder(folder.name)
        for info in folder_messages(account_id, folder.id):
            writer.add(info.data or b"", info.flags, info.internal_date)
            progress.done(1, info.size)
            yield
        writer.end_folder()
        progress.end_folder()
    lost: set[str] = getattr(writer, "lost_keywords", set())
    if lost:
        progress.note(
            "keywords beyond 26 in a folder do not fit Maildir's a-z letters: " + ", ".join(sorted(lost)[:20])
        )


def export_to(account_id: int, dest: Path, fmt: str, progress: Progress, layout: str = "maildir++") -> Summary:
    writer: Writer = MaildirWriter(dest, layout) if fmt == "maildir" else MboxDirWriter(dest)
    return export_account(account_id, writer, progress)


# --- a zip of mbox files, streamed ---------------------------------------------


class _Sink:
    """A write-only file for ZipFile that hands out what was written (zipfile
    writes data descriptors when it cannot seek, so nothing is held back)."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        return data


class ZipMboxWriter(MboxWriter):
    """A zip of mbox files, `Archive/2020.mbox` and so on, written to a sink."""

    def __init__(self, sink: _Sink) -> None:
        super().__init__()
        self.zip = zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6)

    def _open(self, name: str) -> IO[bytes]:
        info = zipfile.ZipInfo(name + ".mbox")
        info.compress_type = zipfile.ZIP_DEFLATED
        return self.zip.open(info, "w", force_zip64=True)

    def close(self) -> None:
        super().close()
        self.zip.close()


def zip_stream(account_id: int, flush_bytes: int = 256 * 1024) -> Iterator[bytes]:
    """The account's mail as a zip of mbox files, in pieces, for a streaming response."""
    sink = _Sink()
    writer = ZipMboxWriter(sink)
    for _ in export_steps(account_id, writer, Progress(None)):
        if sum(len(p) for p in sink.parts) >= flush_bytes:
            yield sink.take()
    writer.close()
    yield sink.take()
