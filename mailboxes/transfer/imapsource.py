"""A remote IMAP server as an import source (imaplib, RFC 3501).

- `imaps://user@host[:port]` (TLS from the start, port 993) or
  `imap://user@host[:port]` (port 143, STARTTLS when the server offers it;
  without TLS only to a loopback address or with allow_plaintext). A user
  name holding '@' is written with %40. The password never comes from the
  URL or the command line: a prompt, an environment variable or a file.
- Certificates are verified unless verify=False (a self-signed test server).
- Folders: LIST "" "*" (with RETURN (SPECIAL-USE) when the server has
  SPECIAL-USE, RFC 6154), \\Noselect ones skipped, names decoded from
  modified UTF-7 and their delimiter turned into '/'. Folders marked \\All
  or \\Flagged (Gmail's All Mail, Starred) are views of other folders and
  are left out, or every message would arrive twice.
- Each folder is opened with EXAMINE (read-only: \\Seen never changes on the
  remote). First UID, size, flags, internal date and the Message-ID field of
  every message (cheap), so messages already here are skipped without being
  downloaded; then BODY.PEEK[] of the rest, a few megabytes per command.
  A message over the size limit is reported from its RFC822.SIZE, unread.
- A dropped connection is reopened (at most MAX_RECONNECTS times a run), the
  folder examined again; a changed UIDVALIDITY stops the run (run it again).
- The host is resolved once and every connection goes to those addresses;
  with public_only (an import started on the web) only to addresses
  destination.py allows. Errors name no server text and no exception text
  (a banner or a reply would tell a user what listens where): the detail is
  logged.
"""

from __future__ import annotations

import getpass
import imaplib
import logging
import os
import socket
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from . import destination, imapwire
from .destination import Address
from .names import decode_mutf7, raw_message_id
from .source import Item, SourceError, SourceFolder

MAX_RECONNECTS = 3
META_WINDOW = 2000  # messages per metadata FETCH
FETCH_BYTES = 4 * 1024 * 1024  # octets per BODY.PEEK[] FETCH
FETCH_MESSAGES = 100
META_ITEMS = "(UID RFC822.SIZE FLAGS INTERNALDATE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])"
VIRTUAL = {"\\all", "\\flagged"}  # RFC 6154 special uses that are views, not places
T = TypeVar("T")
log = logging.getLogger("mailboxes.transfer")


@dataclass(frozen=True)
class ImapUrl:
    secure: bool
    user: str
    host: str
    port: int

    def __str__(self) -> str:
        scheme = "imaps" if self.secure else "imap"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{self.user.replace('@', '%40')}@{host}:{self.port}"


def parse_imap_url(url: str) -> ImapUrl:
    parts = urlsplit(url)
    if parts.scheme not in ("imap", "imaps"):
        raise SourceError(f"{url}: not an imap:// or imaps:// address")
    if parts.password is not None:
        raise SourceError(
            "never put the password in the address: it ends up in shell history and "
            "process lists; give it at the prompt, in an environment variable or a file"
        )
    if not parts.username or not parts.hostname:
        raise SourceError(f"{url}: the address needs a user and a host (imaps://user@host)")
    try:
        port = parts.port or (993 if parts.scheme == "imaps" else 143)
    except ValueError:
        raise SourceError(f"{url}: the port is not a number from 1 to 65535") from None
    return ImapUrl(parts.scheme == "imaps", unquote(parts.username), parts.hostname, port)


def read_password(
    *,
    env: str | None = None,
    file: str | None = None,
    prompt: Callable[[str], str] | None = getpass.getpass,
    label: str = "",
) -> str:
    """The remote password from an environment variable, a file (its first line) or a prompt."""
    if env:
        value = os.environ.get(env)
        if value is None:
            raise SourceError(f"the environment variable {env} is not set")
        return value
    if file:
        try:
            return Path(file).read_text("utf-8").splitlines()[0] if Path(file).stat().st_size else ""
        except (OSError, UnicodeDecodeError) as exc:
            raise SourceError(
                f"cannot read the password file {file}: {getattr(exc, 'strerror', None) or exc}"
            ) from None
    if prompt is None:
        raise SourceError("no password: give --password-env or --password-file (there is no terminal to ask on)")
    return prompt(f"Password for {label}: ")


class _Imap(imaplib.IMAP4):
    """imaplib's client connected to addresses checked beforehand (self.host
    stays the name: it is what TLS verifies), with TLS from the start when given a context."""

    def __init__(self, url: ImapUrl, addresses: list[Address], tls: ssl.SSLContext | None, timeout: float) -> None:
        self._addresses = addresses
        self._tls_from_start = tls
        super().__init__(url.host, url.port, timeout)

    def _create_socket(self, timeout: float | None) -> socket.socket:
        sock = destination.connect(self._addresses, timeout)
        if self._tls_from_start is None:
            return sock
        return self._tls_from_start.wrap_socket(sock, server_hostname=self.host)


class ImapSource:
    def __init__(
        self,
        url: ImapUrl,
        password: str,
        max_size: int,
        *,
        verify: bool = True,
        allow_plaintext: bool = False,
        timeout: float = 60.0,
        public_only: bool = False,
    ) -> None:
        self.url = url
        self._addresses = destination.resolve(url.host, url.port, public_only=public_only)
        self.max_size = max_size
        self.verify = verify
        self.allow_plaintext = allow_plaintext
        self.timeout = timeout
        self.description = f"IMAP {url}"
        self._password = password
        self._conn: imaplib.IMAP4 | None = None
        self._selected: tuple[str, int] | None = None  # (remote name, uidvalidity)
        self._exists = 0
        self._remote: dict[str, str] = {}  # our source name -> the server's name
        self._reconnects = 0
        self.notes: list[str] = []
        self._connect()

    # --- connection ------------------------------------------------------

    def _tls(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if not self.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def _connect(self) -> None:
        where = destination.where(self.url.host, self.url.port)
        try:
            conn = _Imap(self.url, self._addresses, self._tls() if self.url.secure else None, self.timeout)
            if not self.url.secure:
                if "STARTTLS" in conn.capabilities:
                    conn.starttls(self._tls())
                elif not (all(a.ip.is_loopback for a in self._addresses) or self.allow_plaintext):
                    conn.shutdown()
                    raise SourceError(
                        f"{where} offers no STARTTLS; use imaps:// (or allow plaintext "
                        "if you really mean to send the password in the clear)"
                    )
        except ssl.SSLError as exc:
            _log_detail(where, "TLS failed", exc)
            hint = ""
            if isinstance(exc, ssl.SSLCertVerificationError):
                hint = " (its certificate cannot be verified; --no-verify accepts it anyway)"
            raise SourceError(f"TLS with {where} failed{hint}") from None
        except (OSError, imaplib.IMAP4.error) as exc:
            _log_detail(where, "cannot connect", exc)
            raise destination.unreachable(self.url.host, self.url.port) from None
        try:
            if "AUTH=PLAIN" in conn.capabilities:
                secret = f"\0{self.url.user}\0{self._password}".encode()
                conn.authenticate("PLAIN", lambda _: secret)
            else:
                conn.login(self.url.user, self._password)
        except imaplib.IMAP4.error as exc:
            _log_detail(where, "login refused", exc)
            conn.shutdown()
            raise SourceError(f"{where} refused the login of {self.url.user}") from None
        except OSError as exc:
            _log_detail(where, "connection broke during login", exc)
            raise SourceError(f"the connection to {where} broke during login") from None
        self._conn = conn

    def _call(self, func: Callable[[imaplib.IMAP4], T]) -> T:
        """Run func on the connection, reopening it once if it breaks."""
        while True:
            assert self._conn is not None
            try:
                return func(self._conn)
            except (imaplib.IMAP4.abort, OSError) as exc:
                self._reconnects += 1
                _log_detail(self.url.host, "connection broke", exc)
                if self._reconnects > MAX_RECONNECTS:
                    raise SourceError(
                        f"the connection to {self.url.host} keeps breaking; run the same command again to copy the rest"
                    ) from None
                selected = self._selected
                try:
                    self._connect()
                except SourceError as again:
                    raise SourceError(f"{again}; run the same command again to copy the rest") from None
                if selected:
                    if self._examine(selected[0]) != selected[1]:
                        raise SourceError(
                            f"the UIDVALIDITY of {selected[0]} changed on the server; run the same command again"
                        ) from None

    def _examine(self, remote: str) -> int:
        """EXAMINE a folder; its UIDVALIDITY (and self._exists, its message count)."""
        assert self._conn is not None
        typ, data = self._conn.select(imapwire.quote(remote), readonly=True)
        if typ != "OK":
            raise imaplib.IMAP4.error(_text(data))
        self._exists = int(data[0] or 0) if data else 0
        _, values = self._conn.response("UIDVALIDITY")
        uidvalidity = int(values[0]) if values and values[0] else 0
        self._selected = (remote, uidvalidity)
        return uidvalidity

    # --- the Source protocol -------------------------------------------------

    def folders(self) -> list[SourceFolder]:
        entries = self._call(self._list)
        folders = []
        for entry in entries:
            attributes = {a.lower() for a in entry.attributes}
            if attributes & {"\\noselect", "\\nonexistent"}:
                continue
            if attributes & VIRTUAL:  # RFC 6154: views of mail kept in other folders
                self.notes.append(f"{decode_mutf7(entry.name)} left out: it shows mail of other folders")
                continue
            levels = entry.name.split(entry.delimiter) if entry.delimiter else [entry.name]
            name = "/".join(decode_mutf7(level).replace("/", "_") for level in levels)
            self._remote[name] = entry.name
            count, size = self._call(lambda c: _census(c, entry.name))
            folders.append(SourceFolder(name, entry.attributes, count, size))
        folders.sort(key=lambda f: (f.name != "INBOX", f.name))
        return folders

    def _list(self, conn: imaplib.IMAP4) -> list[imapwire.ListEntry]:
        if "SPECIAL-USE" in conn.capabilities:
            typ, data = conn._simple_command("LIST", '""', '"*"', "RETURN", "(SPECIAL-USE)")  # type: ignore[attr-defined]
            typ, data = conn._untagged_response(typ, data, "LIST")  # type: ignore[attr-defined]
            if typ == "OK":
                return imapwire.parse_list(data)
        typ, data = conn.list('""', '"*"')
        if typ != "OK":
            _log_detail(self.url.host, "LIST refused", _text(data))
            raise SourceError("the server would not list its folders")
        return imapwire.parse_list(data)

    def items(self, folder: SourceFolder) -> Iterator[Item]:
        remote = self._remote[folder.name]
        try:
            self._call(lambda c: self._examine(remote))
        except imaplib.IMAP4.error as exc:
            _log_detail(self.url.host, f"EXAMINE {remote!r} refused", exc)
            yield Item("(folder)", frozenset(), None, folder.size, error="the server would not open it")
            return
        for start in range(1, self._exists + 1, META_WINDOW):
            window = f"{start}:{min(start + META_WINDOW - 1, self._exists)}"
            for items in self._call(lambda c: _fetch(c, window, META_ITEMS, by_uid=False)):
                item = self._item(items)
                if item is not None:
                    yield item

    def _item(self, items: dict[str, Any]) -> Item | None:
        uid = imapwire.number(items, "UID")
        if uid is None:
            return None  # an unsolicited FETCH (a flag change)
        size = imapwire.number(items, "RFC822.SIZE") or 0
        header = imapwire.body_section(items, "BODY[HEADER")
        item = Item(
            f"UID {uid}",
            imapwire.flags_of(items),
            imapwire.internal_date(items),
            size,
            message_id=raw_message_id(header) if header is not None else None,
            handle=uid,
        )
        if size > self.max_size:
            item.error = f"larger than the message size limit ({self.max_size} bytes)"
        return item

    def load(self, folder: SourceFolder, items: list[Item]) -> None:
        by_uid = {item.handle: item for item in items}
        chunk: list[int] = []
        size = 0
        for item in items:
            chunk.append(item.handle)
            size += item.size
            if size >= FETCH_BYTES or len(chunk) >= FETCH_MESSAGES or item is items[-1]:
                uids = ",".join(str(u) for u in chunk)
                for response in self._call(lambda c: _fetch(c, uids, "(UID BODY.PEEK[])", by_uid=True)):
                    uid = imapwire.number(response, "UID")
                    body = imapwire.body_section(response, "BODY[]")
                    if uid in by_uid and body is not None:
                        by_uid[uid].raw = body
                chunk, size = [], 0
        for item in items:
            if item.raw is None:
                item.error = "gone from the server before it could be copied"

    def close(self) -> None:
        self._password = ""
        if self._conn is not None:
            try:
                self._conn.logout()
            except (imaplib.IMAP4.error, OSError):
                pass
            self._conn = None


def _text(data: Any) -> str:
    parts = [d.decode("utf-8", "replace") if isinstance(d, bytes) else str(d) for d in (data or []) if d]
    return " ".join(parts)[:300]


def _log_detail(where: str, what: str, detail: object) -> None:
    """What the server or the system said goes to the log, never into a message for the user."""
    log.info("IMAP import from %s: %s: %r", where, what, str(detail)[:300])


def _fetch(conn: imaplib.IMAP4, which: str, items: str, *, by_uid: bool) -> list[dict[str, Any]]:
    if by_uid:
        typ, data = conn.uid("FETCH", which, items)
    else:
        typ, data = conn.fetch(which, items)
    if typ != "OK":
        raise imaplib.IMAP4.error(_text(data))
    return imapwire.parse_fetch([d for d in data if d is not None])


def _census(conn: imaplib.IMAP4, remote: str) -> tuple[int, int]:
    """Messages and octets of a folder, for the progress bar: EXAMINE, then every RFC822.SIZE."""
    typ, selected = conn.select(imapwire.quote(remote), readonly=True)
    if typ != "OK":
        return 0, 0
    count = int(selected[0] or 0) if selected else 0
    if not count:
        return 0, 0
    typ, sizes = conn.fetch("1:*", "(RFC822.SIZE)")
    if typ != "OK":
        return count, 0
    return count, sum(imapwire.number(r, "RFC822.SIZE") or 0 for r in imapwire.parse_fetch([d for d in sizes if d]))
