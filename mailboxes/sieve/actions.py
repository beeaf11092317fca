"""What a script decided (RFC 5228 4): plain values the store carries out.
The evaluator never delivers, sends or files anything itself."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class Keep:
    flags: tuple[str, ...] = ()
    implicit: bool = False  # RFC 5228 2.10.2: nothing cancelled the implicit keep


@dataclass(frozen=True, slots=True, kw_only=True)
class FileInto:
    mailbox: str
    flags: tuple[str, ...] = ()
    create: bool = False  # RFC 5490 3.2 :create


@dataclass(frozen=True, slots=True, kw_only=True)
class Redirect:
    address: str
    copy: bool = False  # RFC 3894: keeps the implicit keep


@dataclass(frozen=True, slots=True, kw_only=True)
class Discard:
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class Reject:
    reason: str
    extended: bool = False  # ereject: refuse in the SMTP dialogue if at all possible (RFC 5429 2.1)


@dataclass(frozen=True, slots=True, kw_only=True)
class Vacation:
    reason: str
    subject: str | None
    from_address: str | None
    addresses: tuple[str, ...]
    seconds: int  # RFC 5230 :days and RFC 6131 :seconds, both in seconds
    handle: str
    mime: bool


Action = Keep | FileInto | Redirect | Discard | Reject | Vacation


@dataclass(frozen=True, slots=True)
class DuplicateMark:
    """RFC 7352 3: remember `key` for `seconds` once the delivery succeeded."""

    key: str
    seconds: int


@dataclass(frozen=True, slots=True)
class Outcome:
    actions: tuple[Action, ...]
    duplicates: tuple[DuplicateMark, ...] = ()
