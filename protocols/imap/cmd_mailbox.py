"""Authenticated-state commands on mailboxes (RFC 3501 6.3): SELECT, EXAMINE,
CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, LIST (RFC 5258, 5819, 6154),
LSUB, STATUS, APPEND (RFC 4315 APPENDUID) and QUOTA (RFC 9208)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Final

from mailboxes import store

from . import catenate, looks
from . import commands as c
from .cmd_fetch import send_messages
from .encoder import render_mailbox, response_code, untagged_status
from .fetch import FetchAttribute
from .mailbox_list import ListEntry, list_entries, lsub_entries
from .objectid import mailbox_id, render_objectid
from .replies import Done, bad, no
from .sequence import SequenceSet
from .view import MailboxView, missing, vanished_line
from .wildcard import PatternTooLong

if TYPE_CHECKING:
    from .state import Session

#: The special uses a folder can be created with (RFC 6154 5.2; \\All and
#: \\Flagged would be virtual folders, which the store does not have).
CREATABLE_USES: Final = frozenset(use for _, use in store.SPECIAL_FOLDERS)
#: What a QRESYNC SELECT reports for each changed message (RFC 7162 3.2.5.2).
RESYNC_ITEMS: Final = (FetchAttribute("UID"), FetchAttribute("FLAGS"), FetchAttribute("MODSEQ"))


async def select(s: Session, cmd: c.Select) -> Done:
    """SELECT / EXAMINE (RFC 3501 6.3.1-2, RFC 7162 3.1.8 for CONDSTORE, 3.2.5 for QRESYNC)."""
    if cmd.qresync is not None and not s.qresync:
        raise bad("QRESYNC needs ENABLE QRESYNC first")  # RFC 7162 3.2.5
    if s.view is not None:
        # RFC 7162 3.2.11: say the old mailbox is closed before anything about the new one.
        s.deselect()
        await s.io.send(untagged_status("OK", "CLOSED", "Previous mailbox closed"))
    # RFC 3501 2.3.2: SELECT claims the messages no session has seen as \\Recent;
    # EXAMINE shows them as \\Recent too but leaves them to the next SELECT (6.3.2).
    # RFC 9051 has no \\Recent: a rev2 session claims none, shows none, sends no RECENT.
    claim = not (cmd.readonly or s.rev2)
    folder = await s.call(store.select_folder, s.account_id, cmd.mailbox, claim_recent=claim)
    if cmd.condstore:
        s.enable_condstore()
    view = MailboxView.create(
        folder.id,
        folder.name,
        folder.uidvalidity,
        folder.uidnext,
        folder.highestmodseq,
        folder.uids,
        readonly=cmd.readonly,
        keywords=folder.keywords,
        vanished=s.qresync,
    )
    if not s.rev2:
        view.add_recent(folder.recent)
    looks.note_claimed(folder.id, folder.recent, claimed=claim)
    lines = [view.flags_lines(), b"* %d EXISTS\r\n" % view.exists]
    if not s.rev2:
        lines.append(view.recent_line(always=True))
    else:  # RFC 9051 6.3.2: a LIST response with the mailbox's name and attributes
        lines += await _own_list_line(s, folder.name)
    if folder.first_unseen_uid is not None:
        lines.append(
            untagged_status("OK", response_code("UNSEEN", view.seq_of(folder.first_unseen_uid) or 1), "First unseen")
        )
    lines += [
        untagged_status("OK", response_code("UIDVALIDITY", folder.uidvalidity), "UIDs valid"),
        untagged_status("OK", response_code("UIDNEXT", folder.uidnext), "Predicted next UID"),
        # RFC 7162 3.1.2.1: sent on every SELECT by a server with persistent modseqs.
        untagged_status("OK", response_code("HIGHESTMODSEQ", folder.highestmodseq), "Highest"),
        untagged_status("OK", _mailbox_id_code(folder.id, folder.uidvalidity), "Ok"),  # RFC 8474 4.2
    ]
    await s.io.send(b"".join(lines))
    s.select(view)
    if cmd.qresync is not None and cmd.qresync.uidvalidity == view.uidvalidity:
        try:
            await _resync(s, cmd.qresync)  # RFC 7162 3.2.5.2: another UIDVALIDITY is a plain SELECT
        except store.StoreError:
            s.deselect()  # RFC 3501 6.3.1: a SELECT that fails leaves nothing selected
            raise
    if cmd.readonly:
        return Done(code="READ-ONLY", text="EXAMINE completed")
    return Done(code="READ-WRITE", text="SELECT completed")


async def _own_list_line(s: Session, name: str) -> list[bytes]:
    folders = await s.call(store.list_folders, s.account_id)
    return [_list_line(b"LIST", entry, s.utf8) for entry in list_entries(folders, "", [name]) if entry.name == name]


async def _resync(s: Session, q: c.QResync) -> None:
    """RFC 7162 3.2.5.2: ``* VANISHED (EARLIER)`` for the known UIDs expunged
    since the client's modseq, then ``* n FETCH (UID FLAGS MODSEQ)`` for the
    known messages changed since. Without known UIDs the client is taken to
    know every UID below UIDNEXT. seq-match-data is not needed: tombstones
    are kept for the folder's life, so the expunges are known exactly."""
    view = s.selected
    top = view.uidnext - 1
    known = [(lo, min(hi, top)) for lo, hi in (q.known_uids.resolve(top) if q.known_uids else [(1, top)]) if lo <= top]
    since: int | None = q.modseq
    if q.modseq <= view.highestmodseq:
        gone = await s.call(store.vanished_since, s.account_id, view.folder_id, q.modseq, known)
        # One expunged since the SELECT read the folder is still in the view: the view reports it.
        vanished = SequenceSet.from_ints(uid for uid in gone if view.seq_of(uid) is None)
    else:
        # A modseq this mailbox never reached (the client saw a server since restored from a
        # backup, say): nothing it holds can be trusted, so every known UID that does not
        # exist has vanished and every known message's flags are sent, as 3.2.5.2 allows.
        vanished, since = SequenceSet(tuple(missing(known, view.uids))), None
    await s.io.send(vanished_line(vanished, earlier=True))
    present = [(lo, min(hi, view.max_uid)) for lo, hi in known if lo <= view.max_uid]
    if present:
        await send_messages(s, present, RESYNC_ITEMS, since)


async def create(s: Session, cmd: c.Create) -> Done:
    # RFC 3501 6.3.3: a trailing separator only declares the intent to add children.
    name = cmd.mailbox.rstrip("/")
    if name.upper() == "INBOX":
        raise no("ALREADYEXISTS", "INBOX always exists")
    if len(cmd.special_use) > 1 or not set(cmd.special_use) <= CREATABLE_USES:
        raise no("USEATTR", "Unsupported special-use attribute")  # RFC 6154 5.3
    # Subscribing is the client's to ask for (RFC 3501 6.3.6; imaptest "subscribe").
    folder = await s.call(
        store.create_folder, s.account_id, name, cmd.special_use[0] if cmd.special_use else "", subscribe=False
    )
    return Done(code=_mailbox_id_code(folder.id, folder.uidvalidity))  # RFC 8474 4.1


def _mailbox_id_code(folder_id: int, uidvalidity: int) -> bytes:
    return b"MAILBOXID " + render_objectid(mailbox_id(folder_id, uidvalidity))


async def delete(s: Session, cmd: c.Delete) -> Done:
    await s.call(store.delete_folder, s.account_id, cmd.mailbox)
    if s.view is not None and s.view.name == cmd.mailbox:
        s.deselect()
        await s.io.send(untagged_status("OK", "CLOSED", "Selected mailbox deleted"))
    return Done()


async def rename(s: Session, cmd: c.Rename) -> Done:
    # RFC 3501 6.3.5: renaming INBOX moves its messages and leaves it empty (in the store).
    info = await s.call(store.rename_folder, s.account_id, cmd.mailbox, cmd.new_name)
    if s.view is not None and s.view.name == cmd.mailbox and cmd.mailbox != "INBOX":
        s.view.name = info.name
    return Done()


async def subscribe(s: Session, cmd: c.Subscribe) -> Done:
    await s.call(store.subscribe_folder, s.account_id, cmd.mailbox, True)
    return Done()


async def unsubscribe(s: Session, cmd: c.Unsubscribe) -> Done:
    await s.call(store.subscribe_folder, s.account_id, cmd.mailbox, False)
    return Done()


def _list_line(kind: bytes, entry: ListEntry, utf8: bool) -> bytes:
    attrs = " ".join(entry.attributes).encode("ascii")
    line = b"* " + kind + b" (" + attrs + b') "/" ' + render_mailbox(entry.name, utf8=utf8)
    if entry.childinfo:
        line += b' ("CHILDINFO" ("SUBSCRIBED"))'  # RFC 5258 3.5
    return line + b"\r\n"


async def list_(s: Session, cmd: c.List) -> Done:
    if cmd.patterns == ("",):
        # RFC 3501 6.3.8: an empty pattern asks for the delimiter and root.
        await s.io.send(b'* LIST (\\Noselect) "/" ""\r\n')
        return Done()
    statuses: dict[str, store.FolderStatus] = {}
    folders: Sequence[store.FolderInfo]
    if cmd.returns.status is not None:
        pairs = await s.call(store.folders_with_status, s.account_id)
        folders = [info for info, _ in pairs]
        statuses = {info.name: st for info, st in pairs}
        if "HIGHESTMODSEQ" in cmd.returns.status:
            s.enable_condstore()
    else:
        folders = await s.call(store.list_folders, s.account_id)
    lost = await s.call(store.lost_subscriptions, s.account_id) if "SUBSCRIBED" in cmd.selection else []
    with _pattern_limit():
        entries = list_entries(
            folders,
            cmd.reference,
            cmd.patterns,
            selection=cmd.selection,
            return_subscribed=cmd.returns.subscribed,
            extended=cmd.extended,
            lost=lost,
        )
    out = []
    for entry in entries:
        out.append(_list_line(b"LIST", entry, s.utf8))
        if entry.selectable and entry.name in statuses and cmd.returns.status is not None:
            out.append(status_line(statuses[entry.name], cmd.returns.status, s.utf8))  # RFC 5819
    await s.io.send(b"".join(out))
    return Done()


async def lsub(s: Session, cmd: c.Lsub) -> Done:
    folders = await s.call(store.list_folders, s.account_id)
    lost = await s.call(store.lost_subscriptions, s.account_id)
    with _pattern_limit():
        entries = lsub_entries(folders, cmd.reference, cmd.pattern, lost)
    await s.io.send(b"".join(_list_line(b"LSUB", e, s.utf8) for e in entries))
    return Done()


@contextmanager
def _pattern_limit() -> Iterator[None]:
    try:
        yield
    except PatternTooLong:
        raise no("LIMIT", "Mailbox pattern too long") from None  # RFC 5530 LIMIT


def status_line(st: store.FolderStatus, items: Sequence[str], utf8: bool) -> bytes:
    values = {
        "MESSAGES": st.messages,
        "RECENT": st.recent,  # what the next SELECT would claim
        "UIDNEXT": st.uidnext,
        "UIDVALIDITY": st.uidvalidity,
        "UNSEEN": st.unseen,
        "HIGHESTMODSEQ": st.highestmodseq,
        "SIZE": st.size,
        "DELETED": st.deleted,
        "MAILBOXID": render_objectid(mailbox_id(st.id, st.uidvalidity)).decode("ascii"),  # RFC 8474 4.3
    }
    pairs = " ".join(f"{item} {values[item]}" for item in items).encode("ascii")
    return b"* STATUS " + render_mailbox(st.name, utf8=utf8) + b" (" + pairs + b")\r\n"


async def status(s: Session, cmd: c.Status) -> Done:
    if "HIGHESTMODSEQ" in cmd.items:
        s.enable_condstore()  # RFC 7162 3.1: a CONDSTORE-enabling command
    st = await s.call(store.folder_status, s.account_id, cmd.mailbox)
    await s.io.send(status_line(st, cmd.items, s.utf8))
    return Done()


async def append(s: Session, cmd: c.Append) -> Done:
    try:
        items = [
            (cmd.message, cmd.flags, cmd.internal_date),
            *((m.message, m.flags, m.internal_date) for m in cmd.more),
        ]
        if cmd.catenate or any(m.catenate for m in cmd.more):
            items = await catenate.messages(s, cmd)  # RFC 4469
        if cmd.more:
            # RFC 3502: all the messages or none; APPENDUID names a UID set (RFC 4315 3).
            result = (await s.call(store.append_many, s.account_id, cmd.mailbox, items))[0]
        else:
            result = await s.call(store.append, s.account_id, cmd.mailbox, *items[0])
    except store.NoSuchFolder:
        raise no("TRYCREATE", "Mailbox does not exist") from None  # RFC 3501 6.3.11
    if s.view is not None and s.view.folder_id == result.folder_id:
        s.force_sync = True  # RFC 3501 6.3.11: the new message is announced at once
    uids = SequenceSet.from_ints(range(result.uid, result.uid + 1 + len(cmd.more)))  # they ascend by one
    return Done(code=response_code("APPENDUID", result.uidvalidity, uids), text="APPEND completed")


# -- QUOTA (RFC 9208): one root, "", holding the account's storage -------------


def _quota_line(usage: store.QuotaUsage) -> bytes:
    # RFC 9208 5.1: STORAGE in units of 1024 octets; no limit, no resource listed.
    if not usage.limit:
        return b'* QUOTA "" ()\r\n'
    used = -(-usage.used // 1024)
    return b'* QUOTA "" (STORAGE %d %d)\r\n' % (used, usage.limit // 1024)


async def getquota(s: Session, cmd: c.GetQuota) -> Done:
    if cmd.root != "":
        raise no("NONEXISTENT", "No such quota root")
    usage = await s.call(store.quota_usage, s.account_id)
    await s.io.send(_quota_line(usage))
    return Done()


async def getquotaroot(s: Session, cmd: c.GetQuotaRoot) -> Done:
    usage = await s.call(store.quota_root, s.account_id, cmd.mailbox)
    await s.io.send(b"* QUOTAROOT " + render_mailbox(cmd.mailbox, utf8=s.utf8) + b' ""\r\n' + _quota_line(usage))
    return Done()


async def setquota(s: Session, cmd: c.SetQuota) -> Done:
    raise no("NOPERM", "Quotas are set by the administrator")
