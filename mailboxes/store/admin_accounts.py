"""Accounts and roles as the dashboard manages them, and the per-protocol
login record. Permission rules: see admin.py."""

from __future__ import annotations

import re
import secrets
import time
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.utils import timezone

from ..models import Account, Domain, Folder, LoginRecord, Passkey, SendAsGrant, TotpDevice
from . import accounts as _accounts
from ._db import atomic, no_transaction
from .addresses import domain_of, normalize_address, normalize_domain
from .admin import account_for, audit, can_change, domain_for, paginate, require_superuser, scoped, search_terms
from .admin_types import AccountDetail, AccountRow, Actor, CreatedAccount, FolderUsage, LoginInfo, Page
from .errors import InvalidInput, LimitExceeded, NoSuchAccount, NoSuchDomain, NotPermitted

GENERATED_PASSWORD_BYTES = 12
_PROTOCOL_RE = re.compile(r"^[a-z0-9-]{1,16}$")
# A login from the same place over the same protocol within this many
# seconds is not written again: "last login" to the minute is what the
# dashboard shows, and a client that opens a connection per check would
# otherwise cost a durable write (an fsync) per connection.
LOGIN_RECORD_PRECISION = 60.0
_recorded: dict[tuple[int, str, str], float] = {}
ACCOUNT_ORDERS: dict[str, tuple[Any, ...]] = {
    "address": ("address",),
    "usage": ("-used_bytes", "address"),
    "login": (F("latest_login").desc(nulls_last=True), "address"),
}
_ROW_FIELDS = (
    "id",
    "address",
    "display_name",
    "domain__name",
    "quota",
    "used_bytes",
    "is_active",
    "is_superuser",
    "is_domain_admin",
    "latest_login",
    "has_totp",
    "has_passkey",
)


def account_rows(qs: QuerySet) -> QuerySet:
    """Accounts as AccountRow values: roles, last login and second factors
    come from correlated subqueries, so a page of any length is one query."""
    admin_of = Account.admin_domains.through.objects.filter(account_id=OuterRef("pk"))
    last = LoginRecord.objects.filter(account_id=OuterRef("pk")).order_by("-at").values("at")[:1]
    totp = TotpDevice.objects.filter(account_id=OuterRef("pk"), confirmed=True)
    return qs.annotate(
        is_domain_admin=Exists(admin_of),
        latest_login=Subquery(last),
        has_totp=Exists(totp),
        has_passkey=Exists(Passkey.objects.filter(account_id=OuterRef("pk"))),
    ).values(*_ROW_FIELDS)


def account_row(values: dict[str, Any]) -> AccountRow:
    return AccountRow(
        values["id"],
        values["address"],
        values["display_name"],
        values["domain__name"],
        values["quota"],
        values["used_bytes"],
        values["is_active"],
        values["is_superuser"],
        values["is_domain_admin"],
        values["latest_login"],
        values["has_totp"],
        values["has_passkey"],
    )


def _row(account_id: int) -> AccountRow:
    return account_row(account_rows(Account.objects.filter(pk=account_id)).get())


@atomic
def admin_list_accounts(
    actor: Actor,
    *,
    domain: str | None = None,
    query: str = "",
    page: int = 1,
    per_page: int = 50,
    order: str = "address",
) -> Page[AccountRow]:
    qs = scoped(actor, Account.objects.all())
    if domain:
        qs = qs.filter(domain=domain_for(actor, domain))
    if q := search_terms(query):
        qs = qs.filter(Q(address__icontains=q) | Q(display_name__icontains=q))
    rows = account_rows(qs).order_by(*ACCOUNT_ORDERS.get(order, ACCOUNT_ORDERS["address"]))
    return paginate(rows, page, per_page, account_row)


@atomic
def admin_account(actor: Actor, account_id: int) -> AccountDetail:
    """Everything the account page shows: usage per folder, logins per protocol, roles."""
    account = account_for(actor, account_id)
    folders = [
        FolderUsage(f["name"], f["special_use"], f["n"], f["size"] or 0)
        for f in Folder.objects.filter(owner_id=account_id)
        .order_by("name")
        .annotate(n=Count("messages"), size=Sum("messages__size"))
        .values("name", "special_use", "n", "size")
    ]
    logins = _logins(account_id)
    domains = tuple(account.admin_domains.order_by("name").values_list("name", flat=True))
    grants = tuple(
        SendAsGrant.objects.filter(account_id=account_id).order_by("address").values_list("address", flat=True)
    )
    row = _row(account_id)
    return AccountDetail(
        row,
        domains,
        folders,
        logins,
        sum(f.messages for f in folders),
        sum(f.size for f in folders),
        can_change(actor, account),
        grants,
        row.has_totp or row.has_passkey,
    )


@atomic
def admin_create_account(
    actor: Actor, address: str, *, password: str = "", quota: int | None = None, display_name: str = ""
) -> CreatedAccount:
    """Create an account; without a password one is generated and returned (once)."""
    addr = normalize_address(address)
    domain_for(actor, domain_of(addr))
    generated = "" if password else secrets.token_urlsafe(GENERATED_PASSWORD_BYTES)
    try:
        info = _accounts.create_account(addr, password or generated, quota=quota, display_name=display_name)
    except NotPermitted as exc:  # the domain's account limit: not a question of rights
        raise LimitExceeded(str(exc)) from None
    audit(actor, "account.create", info.address, quota=info.quota, generated_password=bool(generated))
    return CreatedAccount(_row(info.id), generated)


@atomic
def admin_set_password(actor: Actor, account_id: int, password: str = "") -> str:
    """Set a new password; without one, generate it and return it (once)."""
    account = account_for(actor, account_id, change=True)
    generated = "" if password else secrets.token_urlsafe(GENERATED_PASSWORD_BYTES)
    _accounts.set_password(account.address, password or generated)
    audit(actor, "account.password", account.address, generated=bool(generated))
    return generated


@atomic
def admin_update_account(
    actor: Actor,
    account_id: int,
    *,
    quota: int | None = None,
    active: bool | None = None,
    display_name: str | None = None,
) -> AccountRow:
    account = account_for(actor, account_id, change=True)
    if active is False and account.id == actor.id:
        raise NotPermitted("you cannot disable your own account")
    before = {"quota": account.quota, "active": account.is_active, "display_name": account.display_name}
    info = _accounts.update_account(account.address, quota=quota, active=active, display_name=display_name)
    after = {"quota": info.quota, "active": info.is_active, "display_name": info.display_name}
    changed = {k: v for k, v in after.items() if before[k] != v}
    if changed:
        audit(actor, "account.update", account.address, **changed)
    return _row(account_id)


@atomic
def admin_delete_account(actor: Actor, account_id: int) -> None:
    account = account_for(actor, account_id, change=True)
    if account.id == actor.id:
        raise NotPermitted("you cannot delete your own account")
    usage = Folder.objects.filter(owner_id=account_id).aggregate(n=Count("messages"), size=Sum("messages__size"))
    _accounts.delete_account(account.address)
    audit(actor, "account.delete", account.address, messages=usage["n"], bytes=usage["size"] or 0)


@atomic
def admin_set_roles(
    actor: Actor, account_id: int, *, superuser: bool | None = None, admin_domains: list[str] | None = None
) -> AccountDetail:
    """Grant or revoke superuser (superusers only) and domain admin of the
    actor's own domains. Nobody changes their own role."""
    if account_id == actor.id:
        raise NotPermitted("nobody can change their own role")
    account = account_for(actor, account_id, change=True)
    changed: dict[str, Any] = {}
    if superuser is not None and superuser != account.is_superuser:
        require_superuser(actor, "grant or revoke superuser")
        account.is_superuser = account.is_staff = superuser
        account.save(update_fields=["is_superuser", "is_staff"])
        changed["superuser"] = superuser
    if admin_domains is not None:
        wanted = {normalize_domain(name) for name in admin_domains}
        domains = {d.name: d.id for d in scoped(actor, Domain.objects.filter(name__in=wanted), "id")}
        if missing := wanted - set(domains):
            raise NoSuchDomain(f"no such domain: {', '.join(sorted(missing))}")
        current = set(account.admin_domains.values_list("id", flat=True))
        if current != set(domains.values()):
            account.admin_domains.set(domains.values())
            changed["admin_domains"] = sorted(domains)
    if changed:
        audit(actor, "account.roles", account.address, **changed)
    return admin_account(actor, account_id)


# --- send as ---------------------------------------------------------------


def _grantable(actor: Actor, address: str) -> str:
    """'name@domain' or '@domain', normalised, in a domain the actor manages
    (a domain admin cannot let anyone sign as a domain that is not theirs)."""
    text = address.strip()
    clean = "@" + normalize_domain(text[1:]) if text.startswith("@") else normalize_address(text)
    domain_for(actor, domain_of(clean))
    return clean


@atomic
def admin_grant_send_as(actor: Actor, account_id: int, address: str) -> AccountDetail:
    """Let the account use an address, or every address of a domain ('@domain'),
    in MAIL FROM and From:/Sender: (store.may_send_as)."""
    account = account_for(actor, account_id, change=True)
    clean = _grantable(actor, address)
    _, created = SendAsGrant.objects.get_or_create(account_id=account.id, address=clean)
    if created:
        audit(actor, "account.send_as.grant", account.address, address=clean)
    return admin_account(actor, account_id)


@atomic
def admin_revoke_send_as(actor: Actor, account_id: int, address: str) -> AccountDetail:
    account = account_for(actor, account_id, change=True)
    clean = _grantable(actor, address)
    if SendAsGrant.objects.filter(account_id=account.id, address=clean).delete()[0]:
        audit(actor, "account.send_as.revoke", account.address, address=clean)
    return admin_account(actor, account_id)


# --- logins ---------------------------------------------------------------


@no_transaction
def record_login(account_id: int, protocol: str, ip: str = "") -> None:
    """Remember the last successful login of an account over one protocol
    ('imap', 'pop3', 'smtp', 'web', ...). One upsert; safe to call from every
    worker at once."""
    if not Account.objects.filter(pk=account_id).exists():
        raise NoSuchAccount(f"no account #{account_id}")
    note_login(account_id, protocol, ip)


def note_login(account_id: int, protocol: str, ip: str) -> None:
    """record_login for an account just read (store.login): no check that it
    exists, and nothing written when this process wrote the same account,
    protocol and address less than LOGIN_RECORD_PRECISION seconds ago. The
    write is one statement, atomic by itself (no transaction around it)."""
    if not _PROTOCOL_RE.match(protocol):
        raise InvalidInput(f"not a protocol name: {protocol!r}")
    key, now = (account_id, protocol, ip[:64]), time.monotonic()
    if now - _recorded.get(key, -LOGIN_RECORD_PRECISION) < LOGIN_RECORD_PRECISION:
        return
    q = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {q(LoginRecord._meta.db_table)} (account_id, protocol, at, ip) VALUES (%s, %s, %s, %s) "
            f"ON CONFLICT (account_id, protocol) DO UPDATE SET at = excluded.at, ip = excluded.ip",
            [account_id, protocol, connection.ops.adapt_datetimefield_value(timezone.now()), ip[:64]],
        )
    if len(_recorded) > 100_000:
        _recorded.clear()
    transaction.on_commit(lambda: _recorded.__setitem__(key, now))


def _logins(account_id: int) -> list[LoginInfo]:
    return [
        LoginInfo(r.protocol, r.at, r.ip)
        for r in LoginRecord.objects.filter(account_id=account_id).order_by("protocol")
    ]


@atomic
def last_logins(account_id: int) -> list[LoginInfo]:
    """The last successful login per protocol, by protocol name."""
    return _logins(account_id)
