"""DSN parameters (RFC 3461): NOTIFY and ORCPT on RCPT, RET and ENVID on
MAIL, with xtext (RFC 3461 4) decoded on the way in and encoded on the way
out. Pure: no I/O, no Django."""

from __future__ import annotations

import re
from dataclasses import dataclass


class DsnSyntax(ValueError):
    """A DSN parameter that breaks RFC 3461's syntax: 501 5.5.4."""


@dataclass(frozen=True)
class MailDsn:
    ret: str = ""  # FULL | HDRS | "" (not asked: the reporter decides, RFC 3461 4.3)
    envid: str = ""  # decoded ENVID, printable ASCII, at most 100 characters


@dataclass(frozen=True)
class RcptDsn:
    notify: tuple[str, ...] = ()  # () = not given; ("NEVER",) or some of SUCCESS, FAILURE, DELAY
    orcpt: str = ""  # decoded "addr-type;address", e.g. "rfc822;bob@example.test"


_XTEXT = re.compile(r"^(?:[!-*,-<>-~]|\+[0-9A-F]{2})*$")
_HEX = re.compile(r"\+([0-9A-F]{2})")


def xtext_decode(text: str) -> str:
    """RFC 3461 4: printable ASCII but "+" and "=", and "+XX" for any octet."""
    if not _XTEXT.match(text):
        raise DsnSyntax(f"not xtext: {text!r}")
    return _HEX.sub(lambda m: chr(int(m.group(1), 16)), text)


def xtext_encode(text: str) -> str:
    return "".join(c if "!" <= c <= "~" and c not in "+=" else "".join(f"+{b:02X}" for b in c.encode()) for c in text)


_NOTIFY = ("SUCCESS", "FAILURE", "DELAY")
MAX_ENVID = 100  # RFC 3461 4.4
MAX_ORCPT = 500  # RFC 3461 4.2


def _pairs(params: list[str], names: tuple[str, ...]) -> tuple[list[str], dict[str, str]]:
    """The parameters not in names, and those that are (each once)."""
    rest, taken = [], {}
    for param in params:
        name, _, value = param.partition("=")
        if name.upper() not in names:
            rest.append(param)
        elif name.upper() in taken or not value:
            raise DsnSyntax(f"{name.upper()} given twice or empty")
        else:
            taken[name.upper()] = value
    return rest, taken


def take_mail(params: list[str]) -> tuple[list[str], MailDsn]:
    """MAIL's other parameters, and RET/ENVID (RFC 3461 4.3, 4.4)."""
    rest, taken = _pairs(params, ("RET", "ENVID"))
    ret = taken.get("RET", "").upper()
    if ret not in ("", "FULL", "HDRS"):
        raise DsnSyntax("RET must be FULL or HDRS")
    envid = xtext_decode(taken.get("ENVID", ""))
    if len(envid) > MAX_ENVID or any(not " " <= c <= "~" for c in envid):
        raise DsnSyntax("ENVID must be printable ASCII, at most 100 characters")
    return rest, MailDsn(ret, envid)


def take_rcpt(params: list[str]) -> tuple[list[str], RcptDsn]:
    """RCPT's other parameters, and NOTIFY/ORCPT (RFC 3461 4.1, 4.2)."""
    rest, taken = _pairs(params, ("NOTIFY", "ORCPT"))
    notify: tuple[str, ...] = ()
    if "NOTIFY" in taken:
        values = taken["NOTIFY"].upper().split(",")
        if values != ["NEVER"] and (len(set(values)) != len(values) or not set(values) <= set(_NOTIFY)):
            raise DsnSyntax("NOTIFY must be NEVER or a list of SUCCESS, FAILURE, DELAY")
        notify = tuple(values)
    orcpt = ""
    if "ORCPT" in taken:
        kind, semicolon, address = taken["ORCPT"].partition(";")
        if not semicolon or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9-]*", kind) or not address:
            raise DsnSyntax("ORCPT must be addr-type;xtext")
        orcpt = f"{kind.lower()};{xtext_decode(address)}"
        if len(orcpt) > MAX_ORCPT:
            raise DsnSyntax("ORCPT too long")
    return rest, RcptDsn(notify, orcpt)


def mail_params(dsn: MailDsn) -> str:
    """The RET/ENVID to pass on to a next hop that offers DSN (leading space)."""
    return (f" RET={dsn.ret}" if dsn.ret else "") + (f" ENVID={xtext_encode(dsn.envid)}" if dsn.envid else "")


def rcpt_params(dsn: RcptDsn) -> str:
    """The NOTIFY/ORCPT to pass on (RFC 3461 4.2: ORCPT as it was given)."""
    kind, _, address = dsn.orcpt.partition(";")
    return (f" NOTIFY={','.join(dsn.notify)}" if dsn.notify else "") + (
        f" ORCPT={kind};{xtext_encode(address)}" if dsn.orcpt else ""
    )
