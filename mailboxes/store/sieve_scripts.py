"""Sieve scripts per account (RFC 5804's operations) and per domain
(run before and after the user's, as Pigeonhole's sieve_before/after).

Every script is checked (mailboxes.sieve.compile_script) before it is
stored, so delivery only meets scripts that parse. Quotas: at most
MAIL_SIEVE_MAX_SCRIPTS scripts of at most MAIL_SIEVE_MAX_SCRIPT_SIZE octets
per account. Writers lock the account row (nothing here touches folders,
so the lock order of docs/DESIGN.md holds trivially).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from .. import sieve
from ..models import Account, DomainSieveScript, SieveScript
from ._db import atomic, no_transaction
from .admin import audit, domain_for
from .admin_types import Actor
from .errors import (
    AlreadyExists,
    InvalidInput,
    InvalidScript,
    NoSuchAccount,
    NoSuchScript,
    ScriptIsActive,
    ScriptQuotaExceeded,
)

MAX_NAME = 128
STAGES = ("before", "after")
# RFC 5804 1.6: no control characters, no line or paragraph separators.
_BAD_NAME = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


@dataclass(frozen=True)
class ScriptInfo:
    name: str
    active: bool
    size: int  # octets, UTF-8


def check_name(name: str) -> str:
    if not name or len(name) > MAX_NAME or _BAD_NAME.search(name):
        raise InvalidInput(f"a script name is 1 to {MAX_NAME} characters without control characters")
    return name


def check_script(text: str) -> sieve.Script:
    """The compiled script, or InvalidScript with the line of the first error."""
    try:
        return sieve.compile_script(text, max_bytes=settings.MAIL_SIEVE_MAX_SCRIPT_SIZE)
    except sieve.SieveError as exc:
        raise InvalidScript(exc.message, line=exc.line) from None


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def _lock_account(account_id: int) -> None:
    if not Account.objects.select_for_update().filter(pk=account_id).exists():
        raise NoSuchAccount(f"no account #{account_id}")


def _space_for(account_id: int, name: str, size: int) -> None:
    if size > settings.MAIL_SIEVE_MAX_SCRIPT_SIZE:
        raise ScriptQuotaExceeded(f"a script may hold {settings.MAIL_SIEVE_MAX_SCRIPT_SIZE} octets", kind="maxsize")
    others = SieveScript.objects.filter(account_id=account_id).exclude(name=name).count()
    if others >= settings.MAIL_SIEVE_MAX_SCRIPTS:
        raise ScriptQuotaExceeded(f"at most {settings.MAIL_SIEVE_MAX_SCRIPTS} scripts", kind="maxscripts")


@no_transaction
def have_space(account_id: int, name: str, size: int) -> None:
    """RFC 5804 2.5: would a script of this name and size fit? Raises if not."""
    check_name(name)
    _space_for(account_id, name, size)


@atomic
def put_script(account_id: int, name: str, text: str) -> None:
    """Store (or replace) a script; an active script stays active (RFC 5804 2.6)."""
    check_name(name)
    _lock_account(account_id)
    _space_for(account_id, name, _size(text))
    check_script(text)
    SieveScript.objects.update_or_create(
        account_id=account_id, name=name, defaults={"text": text, "updated": timezone.now()}
    )


@no_transaction
def list_scripts(account_id: int) -> list[ScriptInfo]:
    rows = SieveScript.objects.filter(account_id=account_id).order_by("name").values_list("name", "active", "text")
    return [ScriptInfo(name, active, _size(text)) for name, active, text in rows]


@no_transaction
def get_script(account_id: int, name: str) -> str:
    text = SieveScript.objects.filter(account_id=account_id, name=name).values_list("text", flat=True).first()
    if text is None:
        raise NoSuchScript(f"no script {name!r}")
    return text


@atomic
def activate_script(account_id: int, name: str) -> None:
    """Make `name` the active script; "" leaves none active (RFC 5804 2.8)."""
    _lock_account(account_id)
    if name and not SieveScript.objects.filter(account_id=account_id, name=name).exists():
        raise NoSuchScript(f"no script {name!r}")
    SieveScript.objects.filter(account_id=account_id, active=True).exclude(name=name).update(active=False)
    if name:
        SieveScript.objects.filter(account_id=account_id, name=name).update(active=True)


@atomic
def delete_script(account_id: int, name: str) -> None:
    _lock_account(account_id)
    row = SieveScript.objects.filter(account_id=account_id, name=name).values_list("active", flat=True).first()
    if row is None:
        raise NoSuchScript(f"no script {name!r}")
    if row:
        raise ScriptIsActive("the active script cannot be deleted")
    SieveScript.objects.filter(account_id=account_id, name=name).delete()


@atomic
def rename_script(account_id: int, old: str, new: str) -> None:
    check_name(new)
    _lock_account(account_id)
    if not SieveScript.objects.filter(account_id=account_id, name=old).exists():
        raise NoSuchScript(f"no script {old!r}")
    if old != new and SieveScript.objects.filter(account_id=account_id, name=new).exists():
        raise AlreadyExists(f"a script {new!r} exists")
    SieveScript.objects.filter(account_id=account_id, name=old).update(name=new, updated=timezone.now())


@no_transaction
def active_script(account_id: int) -> tuple[str, str] | None:
    """(name, text) of the account's active script, if any."""
    row = SieveScript.objects.filter(account_id=account_id, active=True).values_list("name", "text").first()
    return (row[0], row[1]) if row else None


@no_transaction
def domain_scripts(domain_id: int) -> dict[str, str]:
    """{"before": text, "after": text} of a domain; a missing stage is ""."""
    rows = dict(DomainSieveScript.objects.filter(domain_id=domain_id).values_list("stage", "text"))
    return {stage: rows.get(stage, "") for stage in STAGES}


@atomic
def admin_domain_scripts(actor: Actor, domain: str) -> dict[str, str]:
    return domain_scripts(domain_for(actor, domain).id)


@atomic
def admin_set_domain_script(actor: Actor, domain: str, stage: str, text: str) -> None:
    """Check and store a domain's before/after script ("" removes it); for
    the domain's admins and superusers, audited."""
    if stage not in STAGES:
        raise InvalidInput("a domain script runs 'before' or 'after' the user's")
    row = domain_for(actor, domain, lock=True)
    if not text.strip():
        DomainSieveScript.objects.filter(domain_id=row.id, stage=stage).delete()
    else:
        check_script(text)
        DomainSieveScript.objects.update_or_create(
            domain_id=row.id, stage=stage, defaults={"text": text, "updated": timezone.now()}
        )
    audit(actor, "domain.sieve", row.name, stage=stage, size=_size(text))
