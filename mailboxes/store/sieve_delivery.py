"""Sieve at final delivery: each local recipient's scripts (the domain's
"before", the account's active one, the domain's "after") decide, before
the delivery transaction, where the copy goes and with which flags, and
what else happens (RFC 5228 2.10, 4).

- keep / fileinto / discard / addflag: the account's Placement (the
  delivery's `place`, placement.py). The first keep or fileinto is the copy
  the delivery stores; further ones (fileinto :copy into a second folder)
  are appended once the delivery has committed. fileinto a missing folder
  without :create (RFC 5490 3.2) keeps the message in INBOX instead.
- redirect: to another host, the address joins the delivery's remote
  recipients (the outbound queue); to an address of ours, the message is
  delivered to it once this delivery has committed (sieve_after.py), with a
  Received field of its own, so the target's scripts run and a loop between
  accounts ends as one through other hosts would. Either is counted
  against the account's daily redirect limit
  (MAIL_SIEVE_REDIRECT_DAILY_LIMIT; not the hourly MAIL_SEND_LIMIT, which
  is for the mail people send) and MAIL_SIEVE_MAX_REDIRECTS per message;
  never for a message with MAX_HOPS_TO_REDIRECT Received fields (a loop),
  to another host only while the account's domain allows external forwards,
  and never to an address of ours that takes no mail (each a runtime error,
  below: the message is kept).
- reject / ereject: no copy; the caller answers 550 5.7.1 at DATA when every
  local recipient rejected and nothing else was to be done, else the
  envelope sender gets a DSN (RFC 5429 2.1).
- vacation and duplicate tracking run once the delivery has committed
  (sieve_after.py).
- a script that fails while it runs (too many actions, a redirect over the
  limit, ...) keeps the message in INBOX, and its owner gets one notice per
  script text (RFC 5228 2.10.6).

Nothing is read when no recipient has a script: the RCPT check (one
statement, accounts.resolve_with_usage) says so for an account's own
address; otherwise one statement asks.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import CharField, Value
from django.utils import timezone

from .. import sieve
from ..models import Account, DomainSieveScript, Folder, SieveScript, SieveSeen
from . import accounts, sending
from .errors import SendingLimited
from .placement import INBOX, Placer
from .types import Placement, RecipientCheck

log = logging.getLogger("mailboxes.store")
# RFC 5228 4.2 asks for loop control on redirect; RFC 5321 6.3 counts Received
# fields (each pass through an MX adds one): a message redirected in a loop
# stops being redirected (a runtime error: kept in INBOX) before any MTA's limit.
MAX_HOPS_TO_REDIRECT = 20


@dataclass(frozen=True)
class Copy:
    folder: str
    flags: tuple[str, ...]


@dataclass
class Decision:
    """What the scripts decided for one account."""

    placement: Placement | None  # None: no copy (discard or reject)
    extra_copies: list[Copy] = field(default_factory=list)
    redirects: list[str] = field(default_factory=list)  # remote ones once _sort_redirects has run
    local_redirects: list[str] = field(default_factory=list)
    reject: str | None = None
    vacation: sieve.Vacation | None = None
    duplicates: tuple[sieve.DuplicateMark, ...] = ()
    failed_script: str | None = None  # the text of a script that failed while it ran
    implicit: bool = False  # the placement is the implicit keep (RFC 5228 2.10.2)


@dataclass(frozen=True)
class Filtered:
    decisions: dict[int, Decision]

    def kept(self, account_ids: list[int]) -> list[int]:
        return [a for a in account_ids if a not in self.decisions or self.decisions[a].placement is not None]

    def placer(self, place: Placer | None) -> Placer | None:
        if not self.decisions:
            return place

        def placed(account: int) -> Placement:
            decision = self.decisions.get(account)
            fallback = place(account) if place is not None else INBOX
            if decision is None or decision.placement is None:
                return fallback
            if decision.implicit:  # the implicit keep leaves a spam verdict's \\Junk alone
                return Placement(
                    folder=fallback.folder,
                    special_use=fallback.special_use,
                    flags=fallback.flags | decision.placement.flags,
                )
            return decision.placement

        return placed

    def redirects(self) -> list[str]:
        """The remote redirects (local ones are delivered by sieve_after)."""
        return [address for d in self.decisions.values() for address in d.redirects]

    def rejections(self) -> dict[int, str]:
        return {a: d.reject for a, d in self.decisions.items() if d.reject is not None}


def scripts_of(account_ids: Sequence[int]) -> dict[int, list[str]]:
    """{account: its scripts in the order they run}, for accounts that have
    any: one statement (the accounts' active scripts and their domains')."""
    if not account_ids:
        return {}
    own = (
        SieveScript.objects.filter(account_id__in=account_ids, active=True)
        .annotate(stage=Value("own", output_field=CharField()))
        .values_list("account_id", "text", "stage")
    )
    domain = DomainSieveScript.objects.filter(domain__accounts__id__in=account_ids).values_list(
        "domain__accounts__id", "text", "stage"
    )
    staged: dict[int, dict[str, str]] = {}
    for account, text, stage in own.union(domain, all=True):
        staged.setdefault(account, {})[stage] = text
    return {account: [s[k] for k in ("before", "own", "after") if k in s] for account, s in staged.items()}


def run_filters(
    raw: bytes,
    account_ids: list[int],
    recipients: Sequence[str],
    mail_from: str,
    checks: Sequence[RecipientCheck | None] = (),
) -> Filtered:
    """The scripts' decisions for the accounts that have scripts (reads only).
    Nothing is read when the RCPT checks already said nobody has any."""
    clean = {a for check in checks if check is not None and check.filtered is False for a in check.account_ids}
    if set(account_ids) <= clean:
        return Filtered({})
    scripts = scripts_of(account_ids)
    if not scripts:
        return Filtered({})
    message = sieve.from_bytes(raw)
    envelope_to = _envelope_recipients(list(scripts), recipients, checks)
    now = timezone.now()
    decisions = {}
    for account, texts in scripts.items():
        delivery = sieve.Delivery(
            envelope=sieve.Envelope(sender=mail_from, recipient=envelope_to[account]),
            now=now,
            mailboxes=frozenset(Folder.objects.filter(owner_id=account).values_list("name", flat=True)),
            spam_percent=_spam_percent(message),
            seen=_seen_by(account),
            limits=sieve.Limits(
                max_actions=settings.MAIL_SIEVE_MAX_ACTIONS, max_redirects=settings.MAIL_SIEVE_MAX_REDIRECTS
            ),
        )
        decisions[account] = _decide(account, texts, message, delivery)
    return Filtered(decisions)


def _decide(account: int, texts: list[str], message: sieve.SieveMessage, delivery: sieve.Delivery) -> Decision:
    """Run the scripts in order; the implicit keep stands only if none of
    them cancelled it (the last one's flags apply to it)."""
    explicit: list[sieve.Action] = []
    duplicates: list[sieve.DuplicateMark] = []
    keep_implicitly = True
    flags: tuple[str, ...] = ()
    try:
        for text in texts:
            outcome = sieve.evaluate(sieve.compile_script(text), message, delivery)
            explicit += [a for a in outcome.actions if not _implicit(a)]
            duplicates += outcome.duplicates
            implicit = [a for a in outcome.actions if isinstance(a, sieve.Keep) and a.implicit]
            keep_implicitly = keep_implicitly and bool(implicit)
            flags = implicit[0].flags if implicit else flags
        decision = _translate(([sieve.Keep(flags=flags)] if keep_implicitly else []) + explicit, delivery)
        decision.implicit = keep_implicitly
        if decision.redirects:
            if len(message.header("received")) >= MAX_HOPS_TO_REDIRECT:
                raise sieve.SieveRuntimeError("redirect of a message that has travelled too far (a loop?)")
            sending.check_redirects(account, len(decision.redirects))
            _sort_redirects(account, decision)
    except (sieve.SieveError, sieve.SieveRuntimeError, SendingLimited) as exc:
        log.info("sieve: account %s: a script failed, the message is kept in INBOX: %s", account, exc)
        return Decision(INBOX, failed_script=text)
    decision.duplicates = tuple(duplicates)
    return decision


def _sort_redirects(account: int, decision: Decision) -> None:
    """Split the redirects into local ones (delivered here, after the commit)
    and remote ones (the outbound queue). A redirect to another host is a
    forward: it follows the account's domain's allow_external_forwards as a
    forwarding alias does (admin.py), whoever wrote the script (a ManageSieve
    client included). One to an address of ours that takes no mail (a
    deleted account) would lose the message: both are runtime errors."""
    remote: list[str] = []
    for address in decision.redirects:
        kind = accounts.resolve_recipient(address).kind
        if kind == "local":
            decision.local_redirects.append(address)
        elif kind == "remote":
            remote.append(address)
        else:
            raise sieve.SieveRuntimeError("redirect to an address of this host that takes no mail")
    if remote and not Account.objects.filter(pk=account, domain__allow_external_forwards=True).exists():
        raise sieve.SieveRuntimeError("redirect to another host, which this domain does not allow")
    decision.redirects = remote


def _implicit(action: sieve.Action) -> bool:
    return isinstance(action, sieve.Keep) and action.implicit


def _translate(actions: list[sieve.Action], delivery: sieve.Delivery) -> Decision:
    copies: list[Copy] = []
    decision = Decision(None)
    for action in actions:
        if isinstance(action, sieve.Keep):
            copies.append(Copy("INBOX", action.flags))
        elif isinstance(action, sieve.FileInto):
            exists = action.mailbox in delivery.mailboxes or action.mailbox.upper() == "INBOX"
            copies.append(Copy(action.mailbox if exists or action.create else "INBOX", action.flags))
        elif isinstance(action, sieve.Redirect):
            decision.redirects.append(action.address)
        elif isinstance(action, sieve.Reject):
            decision.reject = action.reason
        elif isinstance(action, sieve.Vacation):
            decision.vacation = action
    unique = list(dict.fromkeys(copies))
    if unique:
        first = unique[0]
        decision.placement = Placement(folder=first.folder, flags=frozenset(first.flags))
        decision.extra_copies = unique[1:]
    return decision


def _envelope_recipients(
    account_ids: list[int], recipients: Sequence[str], checks: Sequence[RecipientCheck | None]
) -> dict[int, str]:
    """The RCPT address that brought the message to each account (with its
    +detail, RFC 5233), else the account's own address."""
    found: dict[int, str] = {}
    for index, address in enumerate(recipients):
        check = checks[index] if index < len(checks) else None
        ids = check.account_ids if check is not None else ()
        for account in ids:
            found.setdefault(account, address)
    missing = [a for a in account_ids if a not in found]
    if missing:
        own = dict(Account.objects.filter(pk__in=missing).values_list("pk", "address"))
        by_base = {address.lower(): account for account, address in own.items()}
        for address in recipients:
            local, _, domain = address.lower().partition("@")
            owner = by_base.get(f"{local.split('+', 1)[0]}@{domain}")
            if owner is not None:
                found.setdefault(owner, address)
        for account in missing:
            found.setdefault(account, own.get(account, ""))
    return found


def _spam_percent(message: sieve.SieveMessage) -> int | None:
    """RFC 5235 from the spam filter's X-Spam-Score (set by our MX, foreign
    ones removed), scaled so that MAIL_SIEVE_SPAM_SCORE_MAX is 100 %. Without
    a spam filter (MAIL_RSPAMD_URL unset) such a field is the sender's: "not tested"."""
    values = message.header("x-spam-score")
    if not values or not getattr(settings, "MAIL_RSPAMD_URL", ""):  # the spam branch's setting
        return None
    try:
        score = float(values[0].split()[0])
    except (ValueError, IndexError):
        return None
    return max(0, min(100, round(score * 100 / settings.MAIL_SIEVE_SPAM_SCORE_MAX)))


def _seen_by(account: int):  # type: ignore[no-untyped-def]
    def seen(key: str) -> bool:
        return SieveSeen.objects.filter(account_id=account, key=seen_key(key), expires__gt=timezone.now()).exists()

    return seen


def seen_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
