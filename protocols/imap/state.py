"""The IMAP session state and the one command table (RFC 3501 section 3).

:data:`COMMANDS` maps each command class to the states it is allowed in and
its handler; :meth:`Session.execute` checks the state, runs the handler,
maps store errors to response codes in one place, reports what changed in
the selected mailbox where RFC 3501 5.5 allows, and sends the tagged
completion. The session does no I/O of its own: it talks through
:class:`IO` (the connection).
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final, ParamSpec, Protocol, TypeVar

from django.conf import settings

from mailboxes import store
from mailhost import metrics
from protocols import account_sessions, dbcall

from . import (
    cmd_context,
    cmd_fetch,
    cmd_mailbox,
    cmd_search,
    cmd_session,
    cmd_thread,
    cmd_update,
    looks,
    metadata,
    notify,
    urlauth,
)
from . import commands as c
from .encoder import Status, response_code, tagged, untagged_status
from .replies import Done, Refusal, SessionEnd
from .view import BadSequence, MailboxView

if TYPE_CHECKING:
    from protocols.listener import Connection

__all__ = ["COMMANDS", "IO", "Session", "State"]

log = logging.getLogger("protocols.imap")
P = ParamSpec("P")
R = TypeVar("R")


class State(enum.Flag):
    NOT_AUTHENTICATED = enum.auto()
    AUTHENTICATED = enum.auto()
    SELECTED = enum.auto()
    LOGOUT = enum.auto()


ANY: Final = State.NOT_AUTHENTICATED | State.AUTHENTICATED | State.SELECTED
AUTH: Final = State.AUTHENTICATED | State.SELECTED
NOT_AUTH: Final = State.NOT_AUTHENTICATED
SELECTED: Final = State.SELECTED

Handler = Callable[["Session", Any], Awaitable[Done | None]]

# RFC 3501 6.1-6.4 (and each extension's RFC): where a command may be used.
COMMANDS: Final[dict[type[c.Command], tuple[State, Handler]]] = {
    c.Capability: (ANY, cmd_session.capability),
    c.Noop: (ANY, cmd_session.noop),
    c.Logout: (ANY, cmd_session.logout),
    c.Id: (ANY, cmd_session.id_),
    c.StartTLS: (NOT_AUTH, cmd_session.starttls),
    c.Login: (NOT_AUTH, cmd_session.login),
    c.Authenticate: (NOT_AUTH, cmd_session.authenticate),
    c.Enable: (State.AUTHENTICATED, cmd_session.enable),
    c.Compress: (
        AUTH,
        cmd_session.compress,
    ),  # RFC 4978 3: after authentication (so after any TLS)  # RFC 5161 3.1: before any SELECT
    c.Idle: (AUTH, cmd_session.idle),
    c.Namespace: (AUTH, cmd_session.namespace),
    c.Select: (AUTH, cmd_mailbox.select),
    c.Create: (AUTH, cmd_mailbox.create),
    c.Delete: (AUTH, cmd_mailbox.delete),
    c.Rename: (AUTH, cmd_mailbox.rename),
    c.Subscribe: (AUTH, cmd_mailbox.subscribe),
    c.Unsubscribe: (AUTH, cmd_mailbox.unsubscribe),
    c.List: (AUTH, cmd_mailbox.list_),
    c.Lsub: (AUTH, cmd_mailbox.lsub),
    c.Status: (AUTH, cmd_mailbox.status),
    c.Append: (AUTH, cmd_mailbox.append),
    c.GetQuota: (AUTH, cmd_mailbox.getquota),
    c.GetQuotaRoot: (AUTH, cmd_mailbox.getquotaroot),
    c.SetQuota: (AUTH, cmd_mailbox.setquota),
    c.GetMetadata: (AUTH, metadata.getmetadata),  # RFC 5464 4
    c.SetMetadata: (AUTH, metadata.setmetadata),
    c.GenUrlAuth: (AUTH, urlauth.genurlauth),  # RFC 4467 6
    c.UrlFetch: (AUTH, urlauth.urlfetch),
    c.ResetKey: (AUTH, urlauth.resetkey),
    c.Notify: (AUTH, notify.notify),  # RFC 5465 3
    c.Check: (SELECTED, cmd_update.check),
    c.Close: (SELECTED, cmd_update.close),
    c.Unselect: (SELECTED, cmd_update.unselect),
    c.Expunge: (SELECTED, cmd_update.expunge),
    c.Store: (SELECTED, cmd_update.store_flags),
    c.Copy: (SELECTED, cmd_update.copy),
    c.Move: (SELECTED, cmd_update.move),
    c.Fetch: (SELECTED, cmd_fetch.fetch),
    c.Search: (SELECTED, cmd_search.search),
    c.Sort: (SELECTED, cmd_search.sort),
    c.Thread: (SELECTED, cmd_thread.thread),
    c.CancelUpdate: (SELECTED, cmd_context.cancelupdate),
}

_BY_NUMBER: Final = (c.Fetch, c.Store, c.Search, c.Sort, c.Thread, c.Copy, c.Move)


def expunge_allowed(command: c.Command) -> bool:
    """RFC 3501 5.5 and 7.4.1: no EXPUNGE response while answering FETCH,
    STORE or SEARCH by sequence number (their UID forms may have them). SORT
    and THREAD (RFC 5256), COPY and MOVE by number are held to the same rule, since
    their numbers must keep meaning what the client meant."""
    return not (isinstance(command, _BY_NUMBER) and not command.uid)


# Store errors -> (status, response code, text) at the boundary (RFC 5530 codes).
_STORE_ERRORS: Final[tuple[tuple[type[Exception], str, str], ...]] = (
    (store.NoSuchFolder, "NONEXISTENT", "No such mailbox"),
    (store.AlreadyExists, "ALREADYEXISTS", "Mailbox already exists"),
    (store.OverQuota, "OVERQUOTA", "Quota exceeded"),
    (store.Unavailable, "UNAVAILABLE", "Temporary failure, try again later"),
    (store.NotPermitted, "CANNOT", "Operation not permitted"),
    (store.InvalidInput, "CANNOT", "Invalid request"),
    (store.LimitExceeded, "LIMIT", "Limit exceeded"),
)

CAPABILITIES: Final = (
    "IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE UNSELECT CHILDREN UIDPLUS MOVE "
    "SPECIAL-USE LIST-EXTENDED LIST-STATUS CONDSTORE QRESYNC QUOTA QUOTA=RES-STORAGE ESEARCH SEARCHRES SORT BINARY "
    "STATUS=SIZE MULTIAPPEND PREVIEW OBJECTID SAVEDATE COMPRESS=DEFLATE UTF8=ACCEPT CATENATE URLAUTH URLAUTH=BINARY METADATA NOTIFY"
    " THREAD=REFERENCES THREAD=ORDEREDSUBJECT ESORT SORT=DISPLAY CONTEXT=SEARCH CONTEXT=SORT"
)


class IO(Protocol):
    """What handlers may ask of the connection."""

    conn: Connection

    async def send(self, data: bytes) -> None: ...
    async def read_line(self, limit: int) -> bytes: ...
    async def start_tls(self, reply: bytes) -> None: ...
    async def start_compress(self, reply: bytes) -> bool: ...
    async def idle(self, on_wake: Callable[[], Awaitable[None]], poll: float) -> bytes: ...
    def wake(self) -> None: ...
    async def end(self, text: str) -> None: ...


class Session:
    """One client's protocol state: who is logged in, what is selected."""

    def __init__(self, io: IO) -> None:
        self.io = io
        self._ending: asyncio.Future[None] | None = None  # a sign-out's BYE, kept from the collector
        self.conn = io.conn
        self.state = State.NOT_AUTHENTICATED
        self.account: store.AccountInfo | None = None
        self.view: MailboxView | None = None
        self.condstore = False
        #: CONDSTORE was just turned on with a mailbox selected: say its HIGHESTMODSEQ.
        self._announce_modseq = False
        self.qresync = False
        #: ENABLE IMAP4rev2 (RFC 9051): no \Recent, SEARCH answered by ESEARCH.
        self.rev2 = False
        #: ENABLE UTF8=ACCEPT (RFC 6855): UTF-8 mailbox names both ways, envelopes as stored.
        self.utf8 = False
        self.auth_failures = 0
        self.dirty = False
        #: the modseqs the events that made the session dirty named; None when one named none
        self._heard: set[int] | None = set()
        self.force_sync = False
        self._dirty_at = 0.0
        self._last_sync = 0.0
        self._unsubscribe: Callable[[], None] | None = None
        self._on_event: Callable[[int, int, int], None] | None = None  # the event bus's callback (logged_in)
        self._unsubscribe_server: Callable[[], None] | None = None  # hear_server
        #: NOTIFY SET (RFC 5465): events heard between commands too.
        self.watch: notify.Watch | None = None
        self.session_token: str | None = None  # counted by protocols.account_sessions

    # -- helpers for handlers ---------------------------------------------

    async def call(self, func: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """One store call off the event loop (its transaction is the store function's own)."""
        return await dbcall.call(func, *args, **kwargs)

    @property
    def account_id(self) -> int:
        assert self.account is not None
        return self.account.id

    @property
    def selected(self) -> MailboxView:
        assert self.view is not None
        return self.view

    def capabilities(self) -> str:
        caps = CAPABILITIES
        if self.state is State.NOT_AUTHENTICATED:
            if not self.conn.tls:
                caps += " STARTTLS"
            caps += " AUTH=PLAIN" if self.conn.plaintext_auth_allowed else " LOGINDISABLED"
        return caps

    def logged_in(self, account: store.AccountInfo) -> None:
        self.account = account
        self.state = State.AUTHENTICATED
        loop = asyncio.get_running_loop()

        def changed(account_id: int, folder_id: int, modseq: int) -> None:  # runs on the event bus's thread
            try:
                loop.call_soon_threadsafe(self._changed, folder_id, modseq)
            except RuntimeError:  # the loop is closed: the session is gone
                pass

        self._on_event = changed
        self._unsubscribe = store.subscribe(account.id, changed, with_modseq=True)

    def hear_server(self, on: bool) -> None:
        """Hear the server's own events (its shared METADATA) too, or no
        more: only while NOTIFY asks for ServerMetadataChange (RFC 5465 5.10),
        so that the other sessions are not woken for them."""
        if on and self._unsubscribe_server is None and self._on_event is not None:
            self._unsubscribe_server = store.subscribe(store.SERVER, self._on_event, with_modseq=True)
        elif not on and self._unsubscribe_server is not None:
            self._unsubscribe_server()
            self._unsubscribe_server = None

    def _changed(self, folder_id: int, modseq: int = 0) -> None:
        if folder_id == store.SIGN_OUT:
            # The account's password changed or it signed out everywhere: BYE,
            # now if the client has the turn (IDLE too), else after its command.
            self._ending = asyncio.ensure_future(
                self.io.end("Signed out: the password changed or the account signed out everywhere")
            )
            return
        if folder_id == store.METADATA:
            if self.watch is not None and self.watch.wants_metadata:
                self.watch.metadata_moved = True  # RFC 5465 5.9-5.10: reported between commands
                self.io.wake()
            return
        view = self.view
        if self.watch is not None and self.watch.others and (view is None or folder_id != view.folder_id):
            self.watch.pending.add(folder_id)  # RFC 5465: reported between commands
            self.io.wake()
        if view is not None and folder_id in (view.folder_id, 0):
            if folder_id and view.has_taken_in(modseq):
                # This session's own STORE (taken in with note_own_change), or a
                # change a look already brought: nothing to ask the database for.
                # An event that overtakes its own command's reply still marks
                # the session dirty; sync drops the look if the reply has been
                # taken in by then.
                return
            if not self.dirty:
                self._heard = set()
            if self._heard is not None:
                if folder_id and modseq:
                    self._heard.add(modseq)
                else:
                    self._heard = None
            self.dirty = True
            self._dirty_at = asyncio.get_running_loop().time()
            self.io.wake()

    def select(self, view: MailboxView) -> None:
        self.view = view
        self._announce_modseq = False  # SELECT/EXAMINE say it themselves
        self.state = State.SELECTED
        self.dirty = False
        self._last_sync = asyncio.get_running_loop().time()

    def deselect(self) -> None:
        self.view = None
        if self.state is State.SELECTED:
            self.state = State.AUTHENTICATED

    def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self.hear_server(False)
        if self.session_token is not None and self.account is not None:
            account_sessions.release(self.account.id, self.session_token)
            self.session_token = None
        self.state = State.LOGOUT

    # -- running one command ------------------------------------------------

    async def execute(self, command: c.Command) -> None:
        started = time.perf_counter()
        allowed, handler = COMMANDS[type(command)]
        if not self.state & allowed:
            metrics.command("imap", command.name, "BAD", time.perf_counter() - started)
            await self._complete(command.tag, "BAD", None, _wrong_state(self.state, allowed))
            return
        status: Status = "OK"
        code: str | bytes | None = None
        text = f"{command.name} completed"
        try:
            done = await handler(self, command)
            if done is not None and done.answered:
                metrics.command("imap", command.name, "OK", time.perf_counter() - started)
                return
            if done is not None:
                code, text = done.code, done.text or text
        except Refusal as refusal:
            status, code, text = refusal.status, refusal.code, refusal.text
        except BadSequence:
            status, text = "BAD", "Invalid message sequence number"
        except (SessionEnd, ConnectionError):
            raise
        except store.StoreError as exc:
            status, code, text = "NO", *_store_error(exc, self.conn.id, command.name)
        except Exception:
            log.exception("imap#%s: %s failed", self.conn.id, command.name)
            status, code, text = "NO", "SERVERBUG", "Internal error"
        metrics.command("imap", command.name, status, time.perf_counter() - started)
        if self.state is State.LOGOUT:
            await self.io.send(tagged(command.tag, status, code, text))
            raise SessionEnd()
        if self.state is State.SELECTED:
            await self.sync(expunge_ok=expunge_allowed(command))
            if self.selected.contexts:  # RFC 5267 4.3
                await cmd_context.refresh(self)
            if self._announce_modseq:
                # RFC 7162 3.1: the first CONDSTORE-enabling command other than
                # SELECT/EXAMINE reports the selected mailbox's HIGHESTMODSEQ.
                self._announce_modseq = False
                code_ = response_code("HIGHESTMODSEQ", self.selected.highestmodseq)
                await self.io.send(untagged_status("OK", code_, "Highest"))
        await self._complete(command.tag, status, code, text)

    async def _complete(self, tag: bytes, status: Status, code: str | bytes | None, text: str) -> None:
        await self.io.send(tagged(tag, status, code, text))

    async def sync(self, *, expunge_ok: bool, force: bool = False) -> None:
        """Report what changed in the selected mailbox since it was last looked at.

        The database is asked when an event said so, when the command asks
        (NOOP, IDLE, an APPEND to this mailbox) or when the poll interval
        has passed since the last look, in case an event was lost.
        """
        view = self.view
        if view is None:
            return
        now = asyncio.get_running_loop().time()
        if self.dirty and self._heard and all(view.has_taken_in(modseq) for modseq in self._heard):
            # Woken only by this session's own changes, whose events overtook
            # the store's replies (both cross from other threads, in either
            # order): the view has taken them in since, so there is nothing to ask.
            self.dirty = False
        if not (force or self.force_sync or self.dirty or now - self._last_sync >= settings.MAIL_POLL_INTERVAL):
            return
        # Woken by an event only: an answer started after the event will do,
        # unless this session has changed the mailbox since its last look: an
        # answer started before that change committed would report the
        # messages it changed as they were before (their MODSEQ going back).
        woken_only = self.dirty and not (force or self.force_sync) and not view.own_modseqs
        not_before = self._dirty_at if woken_only else now
        self.dirty = self.force_sync = False
        self._last_sync = now
        try:
            changes = await looks.changes(self.account_id, view.folder_id, view.highestmodseq, not_before=not_before)
            recent = await self._recent_among(changes)
        except store.NoSuchFolder:
            # Deleted by another session: nothing this one can do with it.
            await self.io.send(untagged_status("BYE", None, "Selected mailbox was deleted"))
            raise SessionEnd() from None
        except store.Unavailable:
            return  # try again at the next command
        out = view.apply(changes, expunge_ok=expunge_ok, condstore=self.condstore, recent=recent)
        if out:
            await self.io.send(out)

    async def _recent_among(self, changes: store.Changes) -> store.RecentRange | None:
        """RFC 3501 2.3.2: the new messages this session is the first to be
        told of are \\Recent in it; a read-write session claims them for good."""
        view = self.selected
        if self.rev2:
            return None  # RFC 9051 removed \Recent: a rev2 session claims nothing
        top = max((change.uid for change in changes.updated), default=0)
        if top <= view.max_uid:
            return None
        # The mark read with the changes spares the claim a read of its own.
        seen = (changes.recent_uid, changes.uidnext) if changes.recent_uid else None
        return await looks.recent(self.account_id, view.folder_id, top + 1, claim=not view.readonly, seen=seen)

    def enable_condstore(self) -> None:
        """RFC 7162 3.1: any CONDSTORE-enabling command turns it on for the session."""
        if not self.condstore and self.view is not None:
            self._announce_modseq = True
        self.condstore = True

    def enable_qresync(self) -> None:
        """RFC 7162 3.2.3: ENABLE QRESYNC, which also turns CONDSTORE on."""
        self.qresync = self.condstore = True


def _wrong_state(state: State, allowed: State) -> str:
    if state is State.NOT_AUTHENTICATED:
        return "Log in first"
    if allowed is State.NOT_AUTHENTICATED:
        return "Already logged in"
    if allowed is State.SELECTED:
        return "No mailbox selected"
    return "Command not allowed now"


def _store_error(exc: store.StoreError, conn_id: int, name: str) -> tuple[str | None, str]:
    for cls, code, text in _STORE_ERRORS:
        if isinstance(exc, cls):
            return code, text
    log.error("imap#%s: %s: unexpected store error %s", conn_id, name, type(exc).__name__)
    return "SERVERBUG", "Internal error"
