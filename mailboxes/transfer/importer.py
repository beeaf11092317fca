"""The import engine: any Source into one account, through the store in batches.

Idempotent and resumable: before a folder is imported, the keys of what the
target folder already holds are counted (names.key_of: Message-ID and size,
or the bytes' hash without a Message-ID). Going through the source in its
own order, a message whose key is still counted uses that count up and is
skipped; the rest is copied. So a run after an interruption copies only what
is missing, a run after a complete one copies nothing, and a source holding
the same message twice gets it twice.

Each batch (`batch_messages` messages or `batch_bytes` octets) is one
store.append_many call: one transaction. A batch over quota is retried
message by message, so what fits is copied; then the run stops with a clear
reason. A store that is unreachable is retried a few times, then the run stops.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from django import db

from mailboxes import store

from .maildir import MaildirSource, is_maildir
from .mbox import MboxSource
from .names import key_of, key_of_raw, normalize_message_id, starts_with_header, target_folder
from .progress import Progress, Summary
from .source import Item, Source, SourceError, SourceFolder, clean_flags

log = logging.getLogger("mailboxes.transfer")
T = TypeVar("T")


@dataclass(frozen=True)
class ImportOptions:
    batch_messages: int = 200
    batch_bytes: int = 8 * 1024 * 1024
    retries: int = 3
    retry_delay: float = 2.0


#: Messages copied from which an import refreshes the database's statistics (store.refresh_statistics).
BULK_IMPORT = 5_000


class Stop(Exception):
    """The run cannot go on; the text says why, for the person running it."""


def run_import(
    account_id: int, source: Source, progress: Progress, options: ImportOptions = ImportOptions()
) -> Summary:
    stopped = ""
    try:
        Importer(account_id, source, progress, options).run()
    except (Stop, SourceError) as exc:
        stopped = str(exc)
    except store.Unavailable:
        stopped = "the mail store is unavailable; run the same command again later to copy the rest"
    except KeyboardInterrupt:
        stopped = "interrupted; run the same command again to copy the rest"
    finally:
        source.close()
    summary = progress.finish(stopped)
    if summary.done >= BULK_IMPORT:
        store.refresh_statistics()
    return summary


class Pipeline:
    """Batches on their way to the store, the database and Python working side
    by side: while the caller reads and checks the next batch, `stagers`
    threads store the bytes of the batches in flight (store.stage_blobs: the
    parsing and search indexing, the costly part, on parallel connections)
    and one writer appends the batches in their order (store.append_many:
    UIDs follow the source). Staging is only a head start: when it fails,
    append_many does the whole work. An error of the writer stops the caller
    at its next put, wait or exit."""

    def __init__(self, write: Callable[[str, list[Item]], None], stagers: int = 2, depth: int = 4) -> None:
        self._write = write
        self._batches: queue.Queue[tuple[str, list[Item], threading.Event] | None] = queue.Queue(maxsize=depth)
        self._staging: queue.Queue[tuple[threading.Event, list[bytes]] | None] = queue.Queue()
        self._error: BaseException | None = None
        self._threads = [threading.Thread(target=self._writer, name="import-writer", daemon=True)]
        self._threads += [
            threading.Thread(target=self._stager, name=f"import-stager-{n}", daemon=True) for n in range(stagers)
        ]

    def __enter__(self) -> Pipeline:
        for thread in self._threads:
            thread.start()
        return self

    def _stager(self) -> None:
        try:
            while (job := self._staging.get()) is not None:
                staged, raws = job
                try:
                    if self._error is None:
                        store.stage_blobs(raws)
                except Exception as exc:  # append_many will store them itself
                    log.debug("staging a batch failed: %s", exc)
                finally:
                    staged.set()
        finally:
            db.connections.close_all()  # this thread's own connections

    def _writer(self) -> None:
        try:
            while True:
                job = self._batches.get()
                try:
                    if job is None:
                        return
                    target, batch, staged = job
                    staged.wait()
                    if self._error is None:
                        self._write(target, batch)
                except BaseException as exc:  # handed to the caller's thread
                    self._error = exc
                finally:
                    self._batches.task_done()
        finally:
            db.connections.close_all()

    def _check(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def put(self, target: str, batch: list[Item]) -> None:
        self._check()
        if batch:
            staged = threading.Event()
            self._batches.put((target, batch, staged))  # waits while `depth` batches are in flight
            self._staging.put((staged, [item.raw or b"" for item in batch]))

    def wait(self) -> None:
        self._batches.join()
        self._check()

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        if kind is not None:  # the caller failed or was interrupted: drop what was not started
            for _ in _drain(self._batches):
                self._batches.task_done()
            for staging in _drain(self._staging):
                if staging is not None:
                    staging[0].set()
        self._batches.put(None)
        for _ in self._threads[1:]:
            self._staging.put(None)
        for thread in self._threads:
            thread.join()
        if kind is None:
            self._check()


def _drain(pending: queue.Queue[T]) -> list[T]:
    taken = []
    while True:
        try:
            taken.append(pending.get_nowait())
        except queue.Empty:
            return taken


class Importer:
    def __init__(self, account_id: int, source: Source, progress: Progress, options: ImportOptions) -> None:
        self.account_id = account_id
        self.source = source
        self.progress = progress
        self.options = options
        self.have: dict[str, Counter[tuple[str, int]]] = {}  # per target folder: keys not yet matched
        self.dropped_flags: set[str] = set()

    def run(self) -> None:
        with Pipeline(self._write) as self.writer:
            self._run()

    def _run(self) -> None:
        folders = self.source.folders()
        self.progress.start(self.source.description, [(f.name, f.count, f.size) for f in folders])
        for note in self.source.notes:
            self.progress.note(note)
        existing = {f.name: f for f in store.list_folders(self.account_id)}
        by_use = {f.special_use: f.name for f in existing.values() if f.special_use}
        for folder in folders:
            target, use = target_folder(folder.name, folder.attributes)
            if use in by_use:
                target = by_use[use]  # ours may have another name (renamed Sent)
            label = folder.name if target == folder.name else f"{folder.name} -> {target}"
            self.progress.begin_folder(label, folder.count, folder.size)
            if target not in existing:
                try:
                    existing[target] = store.create_folder(self.account_id, target, use)
                except store.AlreadyExists:
                    pass
                except store.InvalidInput as exc:
                    self.progress.failed("(folder)", f"cannot create folder {target!r}: {exc}", folder.size)
                    self.progress.end_folder()
                    continue
            self._folder(folder, target)
            self.writer.wait()
            self.progress.end_folder()
        if self.dropped_flags:
            self.progress.note(
                "flags our store cannot hold were left out: " + ", ".join(sorted(self.dropped_flags)[:20])
            )

    def _folder(self, folder: SourceFolder, target: str) -> None:
        if target not in self.have:
            self.have[target] = Counter(
                key_of(k.message_id, k.size, k.sha256) for k in store.folder_keys(self.account_id, target)
            )
        have = self.have[target]
        pending: list[Item] = []
        pending_bytes = 0
        for item in self.source.items(folder):
            if item.error:
                self.progress.failed(item.ref, item.error, item.size)
                continue
            if item.raw is None and item.message_id:
                key = (normalize_message_id(item.message_id), item.size)
                if have[key] > 0:  # known without downloading it
                    have[key] -= 1
                    self.progress.skipped(1, item.size)
                    continue
            pending.append(item)
            pending_bytes += item.size
            if len(pending) >= self.options.batch_messages or pending_bytes >= self.options.batch_bytes:
                self._flush(folder, target, pending)
                pending, pending_bytes = [], 0
        self._flush(folder, target, pending)

    def _flush(self, folder: SourceFolder, target: str, pending: list[Item]) -> None:
        if not pending:
            return
        if any(item.raw is None for item in pending):
            self.source.load(folder, [item for item in pending if item.raw is None])
        have = self.have[target]
        batch: list[Item] = []
        for item in pending:
            if item.raw is None:
                self.progress.failed(item.ref, item.error or "the source did not deliver it", item.size)
                continue
            key = key_of_raw(item.raw)
            if have[key] > 0:
                have[key] -= 1
                self.progress.skipped(1, len(item.raw))
                continue
            if not starts_with_header(item.raw):
                self.progress.note(f"{folder.name}: {item.ref}: no header fields; copied as it is")
            flags, dropped = clean_flags(item.flags)
            self.dropped_flags.update(dropped)
            item.flags = flags
            batch.append(item)
        self.writer.put(target, batch)

    def _write(self, target: str, batch: list[Item]) -> None:
        if not batch:
            return
        entries = [(item.raw or b"", item.flags, item.internal_date) for item in batch]
        for attempt in range(self.options.retries + 1):
            try:
                store.append_many(self.account_id, target, entries)
                break
            except store.Unavailable:
                if attempt == self.options.retries:
                    raise
                time.sleep(self.options.retry_delay * (attempt + 1))
            except store.TooBigForQuota:
                if len(batch) > 1:
                    return self._one_by_one(target, batch)
                return self.progress.failed(batch[0].ref, "larger than the whole mailbox quota", len(entries[0][0]))
            except store.OverQuota:
                if len(batch) > 1:
                    return self._one_by_one(target, batch)
                raise Stop(
                    "the mailbox is full (its quota is reached); free some space or raise the "
                    "quota, then run the same command again to copy the rest"
                ) from None
            except store.InvalidInput as exc:
                if len(batch) > 1:
                    return self._one_by_one(target, batch)
                return self.progress.failed(batch[0].ref, f"refused by the store: {exc}", len(entries[0][0]))
            except store.NoSuchFolder:
                raise Stop(f"the folder {target!r} was deleted during the import") from None
        self.progress.done(len(batch), sum(len(raw) for raw, _, _ in entries))

    def _one_by_one(self, target: str, batch: list[Item]) -> None:
        for item in batch:
            self._write(target, [item])


def open_source(
    spec: str,
    *,
    max_size: int,
    password: Callable[[str], str],
    folder: str = "INBOX",
    mbox_variant: str = "mboxrd",
    verify: bool = True,
    allow_plaintext: bool = False,
) -> Source:
    """The source a SOURCE argument names: imap[s]://..., a Maildir, an mbox file or a directory of them.
    `password(label)` is asked only for an IMAP source."""
    if spec.startswith(("imap://", "imaps://")):
        from .imapsource import ImapSource, parse_imap_url

        url = parse_imap_url(spec)
        return ImapSource(url, password(str(url)), max_size, verify=verify, allow_plaintext=allow_plaintext)
    path = Path(spec).expanduser()
    if not path.exists():
        raise SourceError(f"{spec}: no such file or directory")
    if path.is_dir() and (is_maildir(path) or any(is_maildir(child) for child in path.iterdir() if child.is_dir())):
        return MaildirSource(path, max_size)
    return MboxSource(path, max_size, variant=mbox_variant, folder=folder)
