"""NOTIFY (RFC 5465): what a session hears about, and when.

``NOTIFY SET [STATUS] (filter events) ...`` replaces the session's watch
(:class:`Watch`), ``NOTIFY NONE`` drops it. While a watch stands, the
connection listens to the event bus between commands too, not only in
IDLE, and :func:`report` sends what changed once the client has the turn
and has sent nothing yet:

* the selected mailbox, when a ``SELECTED`` group asks for its events: the
  usual EXISTS/EXPUNGE/FETCH of a look (``SELECTED-DELAYED``: expunges wait
  for a command that may report them, RFC 5465 5.2), and a FETCH of
  MessageNew's attributes for each new message;
* another mailbox a group matches (``INBOXES``: INBOX; ``PERSONAL``: every
  folder of the user; ``SUBSCRIBED``; ``SUBTREE``; ``MAILBOXES``; the first
  matching group counts, RFC 5465 6): ``* STATUS`` with the items of
  :func:`status_items` (imaptest's notify group expects at least Dovecot's:
  MESSAGES, UIDNEXT and UIDVALIDITY for MessageNew, UIDVALIDITY and
  HIGHESTMODSEQ for FlagChange); ``STATUS`` in SET sends them once at
  once (5.1);
* MailboxName: ``* LIST () "/" name`` for a new folder, ``(\\NonExistent)``
  for a deleted one, ``("OLDNAME" (old))`` for a renamed one (5.4);
  SubscriptionChange: ``* LIST (\\Subscribed)`` or ``()`` (5.5);
* MailboxMetadataChange and ServerMetadataChange (5.9, 5.10; required of a
  server that offers METADATA): the unsolicited ``* METADATA mailbox
  entry ...`` of RFC 5464 4.4.2 naming the entries set, changed or removed,
  ``""`` for the server's. The watch keeps a digest of every entry the
  account can see, taken at SET, and compares it when the event bus says
  the account's metadata moved (store.METADATA). The server's shared
  entries are the superuser's to write; only its own sessions hear of them.

Not done: AnnotationChange (RFC 5257 message annotations are not offered)
is ``NO [BADEVENT]``; MessageNew's fetch attributes in a group other than
SELECTED are ignored. A session's own changes are reported too.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mailboxes import store

from . import cmd_fetch
from . import commands as c
from .cmd_mailbox import status_line
from .encoder import render_mailbox
from .replies import Done, no

if TYPE_CHECKING:
    from .state import Session

__all__ = ["Watch", "notify", "report"]

log = logging.getLogger("protocols.imap")

_MESSAGE_EVENTS = frozenset({"MESSAGENEW", "MESSAGEEXPUNGE", "FLAGCHANGE"})
_NAME_EVENTS = frozenset({"MAILBOXNAME", "SUBSCRIPTIONCHANGE"})
_METADATA_EVENTS = frozenset({"MAILBOXMETADATACHANGE", "SERVERMETADATACHANGE"})
_SUPPORTED = (
    "MessageNew",
    "MessageExpunge",
    "FlagChange",
    "MailboxName",
    "SubscriptionChange",
    "MailboxMetadataChange",
    "ServerMetadataChange",
)
_SELECTED = ("SELECTED", "SELECTED-DELAYED")


@dataclass(slots=True)
class Watch:
    """A session's NOTIFY: its groups, the folders changed since the last
    report, and the folder list as last reported (id: (name, subscribed))."""

    groups: tuple[c.NotifyGroup, ...]
    folders: dict[int, tuple[str, bool]]
    pending: set[int] = field(default_factory=set)
    #: Digests of the metadata entries as last reported, by folder id (0: the
    #: server), when a group asks for a metadata event; metadata_moved: the
    #: event bus said they changed since.
    metadata: dict[int, dict[str, bytes]] | None = None
    metadata_moved: bool = False

    @property
    def others(self) -> bool:
        """Whether a group names mailboxes other than the selected one."""
        return any(g.filter not in _SELECTED for g in self.groups)

    @property
    def wants_metadata(self) -> bool:
        return self.metadata is not None

    @property
    def selected_group(self) -> c.NotifyGroup | None:
        return next((g for g in self.groups if g.filter in _SELECTED), None)

    def events_for(self, name: str, subscribed: bool) -> frozenset[str]:
        """The events the first non-SELECTED group matching ``name`` asks for."""
        for group in self.groups:
            if group.filter in _SELECTED:
                continue
            if _matches(group, name, subscribed):
                return group.events
        return frozenset()


def _matches(group: c.NotifyGroup, name: str, subscribed: bool) -> bool:
    if group.filter == "PERSONAL":
        return True
    if group.filter == "INBOXES":
        return name == "INBOX"
    if group.filter == "SUBSCRIBED":
        return subscribed
    if group.filter == "MAILBOXES":
        return name in group.mailboxes
    return any(name == root or name.startswith(root + "/") for root in group.mailboxes)  # SUBTREE


def status_items(events: frozenset[str], condstore: bool) -> list[str]:
    """The STATUS items that say a mailbox's ``events`` (RFC 5465 5.2-5.3):
    MESSAGES for new and expunged messages, UIDNEXT, UIDVALIDITY and UNSEEN
    for new ones, UIDVALIDITY, UNSEEN and HIGHESTMODSEQ for flag changes,
    and HIGHESTMODSEQ for any once the session enabled CONDSTORE."""
    wanted = set()
    if events & {"MESSAGENEW", "MESSAGEEXPUNGE"}:
        wanted.add("MESSAGES")
    if "MESSAGENEW" in events:
        wanted |= {"UIDNEXT", "UIDVALIDITY", "UNSEEN"}
    if "FLAGCHANGE" in events:
        wanted |= {"UIDVALIDITY", "UNSEEN", "HIGHESTMODSEQ"}
    if wanted and condstore:
        wanted.add("HIGHESTMODSEQ")
    return [item for item in ("MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "HIGHESTMODSEQ") if item in wanted]


async def notify(s: Session, cmd: c.Notify) -> Done:
    if cmd.groups is None:
        s.watch = None
        s.hear_server(False)
        return Done()
    asked = frozenset().union(*(g.events for g in cmd.groups))
    if asked - {e.upper() for e in _SUPPORTED}:
        raise no("BADEVENT (" + " ".join(_SUPPORTED) + ")", "Event not supported")  # RFC 5465 3.1
    folders = await s.call(store.list_folders, s.account_id)
    watch = Watch(groups=cmd.groups, folders={f.id: (f.name, f.subscribed) for f in folders})
    if asked & _METADATA_EVENTS:
        watch.metadata = await s.call(store.metadata_digests, s.account_id)
    s.watch = watch
    s.hear_server("SERVERMETADATACHANGE" in asked)
    if cmd.status:
        await _send_status(s, watch, {f.id for f in folders})
    return Done()


async def report(s: Session) -> None:
    """Send what changed since the last report (the client has the turn).
    A store failure is logged and the folders stay pending: the client did
    not ask for anything, so nothing is answered (the next wake tries again)."""
    watch = s.watch
    if watch is None:
        return
    pending, watch.pending = watch.pending, set()
    try:
        await _report(s, watch, pending)
    except store.StoreError as exc:
        log.warning("imap#%s: NOTIFY report failed: %s", s.conn.id, type(exc).__name__)
        watch.pending |= pending


async def _report(s: Session, watch: Watch, pending: set[int]) -> None:
    group = watch.selected_group
    if s.view is not None and group is not None and group.events & _MESSAGE_EVENTS:
        before = s.view.max_uid
        await s.sync(expunge_ok=group.filter == "SELECTED")
        view = s.view
        if group.fetch and view is not None and view.max_uid > before:
            # RFC 5465 5.2: MessageNew's fetch attributes, for the new messages (no \Seen set).
            await cmd_fetch.send_messages(s, [(before + 1, view.max_uid)], group.fetch, None)
    if watch.metadata_moved:
        watch.metadata_moved = False
        await _report_metadata(s, watch)
    if not pending:
        return
    folders = await s.call(store.list_folders, s.account_id)
    now = {f.id: (f.name, f.subscribed) for f in folders}
    lines = _list_changes(watch, now, s.utf8)
    watch.folders = now
    if lines:
        await s.io.send(b"".join(lines))
    await _send_status(s, watch, pending & now.keys())


async def _report_metadata(s: Session, watch: Watch) -> None:
    """RFC 5465 5.9-5.10: the entries whose value came, changed or went, per
    mailbox whose group asks for MailboxMetadataChange (the selected one's:
    the SELECTED group) and for the server when any group asks for
    ServerMetadataChange."""
    now = await s.call(store.metadata_digests, s.account_id)
    before, watch.metadata = watch.metadata or {}, now
    selected = s.view.folder_id if s.view is not None else None
    server_wanted = any("SERVERMETADATACHANGE" in g.events for g in watch.groups)
    lines = []
    for folder_id in sorted(now.keys() | before.keys()):
        old, new = before.get(folder_id, {}), now.get(folder_id, {})
        changed = sorted(e for e in old.keys() | new.keys() if old.get(e) != new.get(e))
        if not changed:
            continue
        if folder_id == 0:
            if not server_wanted:
                continue
            mailbox = b'""'
        else:
            if folder_id not in watch.folders:
                continue
            name, subscribed = watch.folders[folder_id]
            group = watch.selected_group if folder_id == selected else None
            events = group.events if group is not None else watch.events_for(name, subscribed)
            if "MAILBOXMETADATACHANGE" not in events:
                continue
            mailbox = render_mailbox(name, utf8=s.utf8)
        lines.append(b"* METADATA " + mailbox + b" " + " ".join(changed).encode("ascii") + b"\r\n")
    if lines:
        await s.io.send(b"".join(lines))


def _list_changes(watch: Watch, now: dict[int, tuple[str, bool]], utf8: bool) -> list[bytes]:
    out = []
    for folder_id in sorted(now.keys() | watch.folders.keys()):
        old, new = watch.folders.get(folder_id), now.get(folder_id)
        if old == new:
            continue
        name, subscribed = new or old  # type: ignore[misc]
        events = watch.events_for(name, subscribed)
        if old is not None and new is not None and old[0] == new[0]:
            if "SUBSCRIPTIONCHANGE" in events:
                out.append(_list_line(["\\Subscribed"] if subscribed else [], name, utf8))
        elif "MAILBOXNAME" in events:
            if new is None:
                out.append(_list_line(["\\NonExistent"], name, utf8))
            elif old is None:
                out.append(_list_line([], name, utf8))
            else:
                extra = b' ("OLDNAME" (' + render_mailbox(old[0], utf8=utf8) + b"))"
                out.append(_list_line([], name, utf8, extra))
    return out


def _list_line(flags: Sequence[str], name: str, utf8: bool, extra: bytes = b"") -> bytes:
    return b"* LIST (" + " ".join(flags).encode("ascii") + b') "/" ' + render_mailbox(name, utf8=utf8) + extra + b"\r\n"


async def _send_status(s: Session, watch: Watch, folder_ids: set[int]) -> None:
    selected = s.view.folder_id if s.view is not None else None
    wanted = {i for i in folder_ids if i != selected}
    if not wanted:
        return
    lines = []
    for st in await s.call(store.all_folder_status, s.account_id):
        if st.id not in wanted or st.id not in watch.folders:
            continue
        name, subscribed = watch.folders[st.id]
        items = status_items(watch.events_for(name, subscribed), s.condstore)
        if items:
            lines.append(status_line(st, items, s.utf8))
    if lines:
        await s.io.send(b"".join(lines))
