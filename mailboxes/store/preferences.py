"""Per-account preferences set in the webmail: identity, vacation, forwarding
(to another host only where the domain allows external forwards).

The display name is the account's and the signature is AccountSettings';
vacation and forwarding are Sieve (issue #20: one mechanism): the managed
section of the account's active script (mailboxes/sieve/managed.py), read
back from it and spliced into it, the user's own rules left as they are. An
account without an active script gets one named "webmail", as the Filters
page does, when there is something to write."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .. import sieve
from ..models import Account, AccountSettings
from ..sieve import managed
from . import sieve_scripts
from ._db import atomic
from .addresses import normalize_address
from .admin import check_targets
from .errors import InvalidInput, NoSuchAccount, ScriptQuotaExceeded

SCRIPT_NAME = "webmail"  # the script made for an account that has none (as the Filters page names it)

MAX_NAME = 200
MAX_SIGNATURE = 10_000
MAX_VACATION_BODY = 64 * 1024
MAX_VACATION_DAYS = 365
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Preferences:
    display_name: str = ""
    signature: str = ""
    vacation_enabled: bool = False
    vacation_subject: str = ""
    vacation_body: str = ""
    vacation_days: int = 7
    forward_to: str = ""
    forward_keep_copy: bool = True
    conversations: bool = True  # the message list grouped by conversation
    rich_compose: bool = True  # the HTML editor (off: plain text)


def _one_line(value: str, what: str, limit: int) -> str:
    value = value.strip()
    if _CONTROL.search(value) or len(value) > limit:
        raise InvalidInput(f"{what} must be one line of at most {limit} characters")
    return value


def _account(account_id: int, *, lock: bool = False) -> Account:
    qs = Account.objects.select_for_update(of=("self",)) if lock else Account.objects
    qs = qs.select_related("domain")
    account = qs.filter(pk=account_id).first()
    if account is None:
        raise NoSuchAccount(f"no account #{account_id}")
    return account


@atomic
def get_preferences(account_id: int) -> Preferences:
    account = _account(account_id)
    row = (
        AccountSettings.objects.filter(account_id=account_id)
        .values_list("signature", "conversations", "rich_compose")
        .first()
    )
    signature, conversations, rich_compose = row if row is not None else ("", True, True)
    active = sieve_scripts.active_script(account_id)
    said = managed.read(active[1]) if active is not None else managed.Settings()
    return Preferences(
        account.display_name,
        signature or "",
        said.vacation_enabled,
        said.vacation_subject,
        said.vacation_body,
        said.vacation_days,
        said.forward_to,
        said.forward_keep_copy,
        conversations,
        rich_compose,
    )


@atomic
def save_preferences(account_id: int, prefs: Preferences) -> Preferences:
    """Validate and store all preferences at once; returns what was stored."""
    account = _account(account_id, lock=True)
    name = _one_line(prefs.display_name, "the display name", MAX_NAME)
    subject = _one_line(prefs.vacation_subject, "the vacation subject", MAX_NAME)
    if len(prefs.signature) > MAX_SIGNATURE:
        raise InvalidInput(f"the signature is longer than {MAX_SIGNATURE} characters")
    if len(prefs.vacation_body) > MAX_VACATION_BODY:
        raise InvalidInput("the vacation message is too long")
    if not 1 <= prefs.vacation_days <= MAX_VACATION_DAYS:
        raise InvalidInput(f"the vacation interval must be 1 to {MAX_VACATION_DAYS} days")
    if prefs.vacation_enabled and not prefs.vacation_body.strip():
        raise InvalidInput("the vacation reply needs a message")
    forward = normalize_address(prefs.forward_to) if prefs.forward_to.strip() else ""
    if forward == account.address:
        raise InvalidInput("mail cannot be forwarded to its own address")
    if forward:  # the domain's policy for its aliases applies (Domain.allow_external_forwards)
        check_targets(account.domain, [forward])
    if account.display_name != name:
        Account.objects.filter(pk=account_id).update(display_name=name)
    clean = Preferences(
        name,
        prefs.signature.replace("\r\n", "\n"),
        prefs.vacation_enabled,
        subject,
        prefs.vacation_body.replace("\r\n", "\n"),
        prefs.vacation_days,
        forward,
        prefs.forward_keep_copy or not forward,
        prefs.conversations,
        prefs.rich_compose,
    )
    AccountSettings.objects.update_or_create(
        account_id=account_id,
        defaults={
            "signature": clean.signature,
            "conversations": clean.conversations,
            "rich_compose": clean.rich_compose,
        },
    )
    _write_section(
        account_id,
        managed.section(
            managed.Settings(
                clean.vacation_enabled,
                clean.vacation_subject,
                clean.vacation_body,
                clean.vacation_days,
                clean.forward_to,
                clean.forward_keep_copy,
            )
        ),
    )
    return clean


def _write_section(account_id: int, section: str) -> None:
    """In save_preferences' transaction: the active script with this section."""
    active = sieve_scripts.active_script(account_id)
    name, text = active if active is not None else (_free_name(account_id), "")
    try:
        wanted = managed.with_section(text, section)
    except sieve.SieveError:  # stored scripts parse; one that no longer does (a lowered limit) is not guessed at
        raise InvalidInput("your filter script has an error; correct it on the Filters page first") from None
    if wanted == text:
        return
    try:
        sieve_scripts.put_script(account_id, name, wanted)
    except ScriptQuotaExceeded:
        raise InvalidInput("the vacation message is too long for your filter script") from None
    if active is None:
        sieve_scripts.activate_script(account_id, name)


def _free_name(account_id: int) -> str:
    """SCRIPT_NAME, unless an inactive script of the user's has it."""
    taken = {s.name for s in sieve_scripts.list_scripts(account_id)}
    return next(n for n in (SCRIPT_NAME, *(f"{SCRIPT_NAME}-{i}" for i in range(2, len(taken) + 3))) if n not in taken)
