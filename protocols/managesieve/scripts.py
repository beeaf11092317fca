"""ManageSieve commands on the account's scripts (RFC 5804 2.5-2.12)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mailboxes import store
from protocols import dbcall

from . import parser

if TYPE_CHECKING:
    from .session import ManageSieveSession


def _owner(s: ManageSieveSession) -> int:
    assert s.account is not None  # the state table lets these run only when authenticated
    return s.account.id


async def havespace(s: ManageSieveSession, cmd: parser.HaveSpace) -> None:
    await dbcall.call(store.have_space, _owner(s), cmd.script, cmd.size)
    await s.ok()


async def putscript(s: ManageSieveSession, cmd: parser.PutScript) -> None:
    """Checked before it is stored (2.6); errors name their line."""
    await dbcall.call(store.put_script, _owner(s), cmd.script, cmd.content)
    await s.ok()


async def checkscript(s: ManageSieveSession, cmd: parser.CheckScript) -> None:
    """Compiled on the store's pool like PUTSCRIPT's: a large script is CPU
    work that must not hold up the event loop's other sessions."""
    await dbcall.call(store.check_script, cmd.content)
    await s.ok()


async def listscripts(s: ManageSieveSession, cmd: parser.ListScripts) -> None:
    rows = await dbcall.call(store.list_scripts, _owner(s))
    lines = [parser.string(row.name) + (b" ACTIVE" if row.active else b"") + b"\r\n" for row in rows]
    await s.write(b"".join(lines) + parser.response("OK", "Listscripts completed"))


async def setactive(s: ManageSieveSession, cmd: parser.SetActive) -> None:
    await dbcall.call(store.activate_script, _owner(s), cmd.script)
    await s.ok()


async def getscript(s: ManageSieveSession, cmd: parser.GetScript) -> None:
    text = await dbcall.call(store.get_script, _owner(s), cmd.script)
    raw = text.encode()
    await s.write(b"{%d}\r\n" % len(raw) + raw + b"\r\n" + parser.response("OK", "Getscript completed"))


async def deletescript(s: ManageSieveSession, cmd: parser.DeleteScript) -> None:
    await dbcall.call(store.delete_script, _owner(s), cmd.script)
    await s.ok()


async def renamescript(s: ManageSieveSession, cmd: parser.RenameScript) -> None:
    await dbcall.call(store.rename_script, _owner(s), cmd.old, cmd.new)
    await s.ok()
