"""METADATA (RFC 5464): GETMETADATA and SETMETADATA, on the server (mailbox
"") and on mailboxes, kept in the store (``store.get_metadata`` /
``set_metadata``, which also hold the limits and who may write what).

A requested entry that does not exist is answered NIL (as Dovecot does),
descendants that exist are listed under DEPTH 1 / infinity; MAXSIZE leaves
out larger values and says so with ``OK [METADATA LONGENTRIES n]`` (4.2.1).
Refusals: ``NO [METADATA MAXSIZE n]`` for a value over the limit,
``NO [METADATA TOOMANY]`` past the account's entries or octets, ``NO
[NOPERM]`` for the server's shared entries unless a superuser (4.3).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mailboxes import store

from . import commands as c
from .encoder import render_astring, render_mailbox, render_nstring
from .replies import Done, no

if TYPE_CHECKING:
    from .state import Session

__all__ = ["getmetadata", "setmetadata"]


async def getmetadata(s: Session, cmd: c.GetMetadata) -> Done:
    found = await s.call(store.get_metadata, s.account_id, cmd.mailbox or None, cmd.entries, cmd.depth)
    longest = 0
    values: dict[str, bytes | None] = {}
    for entry, value in found:
        if cmd.maxsize is not None and len(value) > cmd.maxsize:
            longest = max(longest, len(value))
        else:
            values[entry] = value
    for entry in cmd.entries:
        if not any(name == entry or name.startswith(entry + "/") for name, _ in found):
            values[entry] = None
    if values:
        pairs = b" ".join(
            render_astring(entry) + b" " + render_nstring(value) for entry, value in sorted(values.items())
        )
        await s.io.send(b"* METADATA " + render_mailbox(cmd.mailbox, utf8=s.utf8) + b" (" + pairs + b")\r\n")
    if longest:
        return Done(code=f"METADATA LONGENTRIES {longest}")
    return Done()


async def setmetadata(s: Session, cmd: c.SetMetadata) -> Done:
    try:
        await s.call(store.set_metadata, s.account_id, cmd.mailbox or None, cmd.items)
    except store.MetadataTooBig:
        raise no(f"METADATA MAXSIZE {store.METADATA_MAX_VALUE}", "Value too big") from None
    except store.MetadataTooMany:
        raise no("METADATA TOOMANY", "Too many metadata entries or octets") from None
    except store.NotPermitted:
        raise no("NOPERM", "Only the administrator sets server shared metadata") from None
    return Done()
