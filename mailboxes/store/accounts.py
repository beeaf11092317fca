"""Domains, accounts, aliases, authentication and recipient resolution."""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import NamedTuple, NoReturn

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.db import IntegrityError, connection
from django.db.models import Count

from ..models import (
    Account,
    Alias,
    AppPassword,
    Domain,
    DomainSieveScript,
    Passkey,
    SieveScript,
    TotpDevice,
)
from . import _sql
from . import folders as _folders
from . import srs as _srs
from . import web_sessions as _web_sessions
from ._db import atomic, no_transaction
from .addresses import domain_of, normalize_address, normalize_domain
from .errors import (
    AlreadyExists,
    InvalidInput,
    NoSuchAccount,
    NoSuchAlias,
    NoSuchDomain,
    NotPermitted,
    OverQuota,
    TooBigForQuota,
)
from .types import AccountInfo, AliasInfo, DomainInfo, QuotaUsage, QuotaVerdict, RecipientCheck

MAX_ALIAS_DEPTH = 8


def _domain_info(domain: Domain, accounts: int = 0) -> DomainInfo:
    return DomainInfo(domain.id, domain.name, domain.active, domain.default_quota, domain.max_accounts, accounts)


def account_info(account: Account) -> AccountInfo:
    return AccountInfo(
        account.id,
        account.address,
        account.display_name,
        account.quota,
        account.used_bytes,
        account.is_active,
        account.is_superuser,
    )


# --- domains --------------------------------------------------------------


@atomic
def create_domain(name: str, *, default_quota: int = 0, max_accounts: int = 0) -> DomainInfo:
    domain_name = normalize_domain(name)
    if default_quota < 0 or max_accounts < 0:
        raise InvalidInput("quota and account limit must not be negative")
    if Domain.objects.filter(name=domain_name).exists():
        raise AlreadyExists(f"domain {domain_name} already exists")
    return _domain_info(Domain.objects.create(name=domain_name, default_quota=default_quota, max_accounts=max_accounts))


@atomic
def delete_domain(name: str, *, force: bool = False) -> None:
    domain = _get_domain(name)
    if domain.accounts.exists():
        if not force:
            raise NotPermitted(f"domain {domain.name} still has accounts (use --force to delete them too)")
        for account in domain.accounts.all():
            account.delete()
    domain.delete()


@atomic
def list_domains() -> list[DomainInfo]:
    rows = Domain.objects.annotate(n=Count("accounts")).order_by("name")
    return [_domain_info(d, d.n) for d in rows]


def _get_domain(name: str) -> Domain:
    try:
        return Domain.objects.get(name=normalize_domain(name))
    except Domain.DoesNotExist:
        raise NoSuchDomain(f"no such domain: {name}") from None


# --- accounts -------------------------------------------------------------


@atomic
def create_account(
    address: str, password: str, *, quota: int | None = None, display_name: str = "", superuser: bool = False
) -> AccountInfo:
    addr = normalize_address(address)
    if not password:
        raise InvalidInput("a password is required")
    if quota is not None and quota < 0:
        raise InvalidInput("quota must not be negative")
    domain = _get_domain(domain_of(addr))
    if domain.max_accounts and domain.accounts.count() >= domain.max_accounts:
        raise NotPermitted(f"domain {domain.name} has reached its limit of {domain.max_accounts} accounts")
    if Account.objects.filter(address=addr).exists() or Alias.objects.filter(source=addr).exists():
        raise AlreadyExists(f"{addr} already exists")
    if quota is None:
        quota = domain.default_quota or settings.MAIL_DEFAULT_QUOTA
    account = Account(
        address=addr, domain=domain, quota=quota, display_name=display_name, is_superuser=superuser, is_staff=superuser
    )
    account.password = make_password(password)
    try:
        account.save()
    except IntegrityError:
        raise AlreadyExists(f"{addr} already exists") from None
    _folders.create_default_folders(account.id)
    return account_info(account)


@atomic
def set_password(address: str, password: str, *, keep_session: str = "") -> None:
    """A new password; every session of the account ends (its browsers but
    the one whose session key is keep_session, its IMAP/POP3/POP2 sessions)."""
    if not password:
        raise InvalidInput("a password is required")
    account = _get_account(address)
    account.password = make_password(password)
    account.save(update_fields=["password"])
    _web_sessions.end_sessions(account.id, keep=keep_session)


@atomic
def update_account(
    address: str, *, quota: int | None = None, active: bool | None = None, display_name: str | None = None
) -> AccountInfo:
    account = _get_account(address)
    if quota is not None:
        if quota < 0:
            raise InvalidInput("quota must not be negative")
        account.quota = quota
    if active is not None:
        account.is_active = active
    if display_name is not None:
        account.display_name = display_name
    account.save(update_fields=["quota", "is_active", "display_name"])
    return account_info(account)


@atomic
def delete_account(address: str) -> None:
    account = _get_account(address)
    account.delete()


@atomic
def get_account(address: str) -> AccountInfo:
    return account_info(_get_account(address))


@atomic
def get_account_by_id(account_id: int) -> AccountInfo:
    try:
        return account_info(Account.objects.get(pk=account_id))
    except Account.DoesNotExist:
        raise NoSuchAccount(f"no account #{account_id}") from None


@atomic
def list_accounts(domain: str | None = None) -> list[AccountInfo]:
    rows = Account.objects.order_by("address")
    if domain:
        rows = rows.filter(domain=_get_domain(domain))
    return [account_info(a) for a in rows]


def _get_account(address: str) -> Account:
    try:
        return Account.objects.get(address=normalize_address(address))
    except Account.DoesNotExist:
        raise NoSuchAccount(f"no such account: {address}") from None


# --- authentication -------------------------------------------------------


class _VerifiedCache:
    """Remembers recently verified credentials so a client that opens many
    connections does not pay the slow password hash each time (as Dovecot's
    auth cache does). Keys are a keyed hash of (address, password, stored
    hash): the password itself is never kept, and a password change makes
    every old entry miss."""

    def __init__(self, size: int = 4096) -> None:
        self._entries: OrderedDict[bytes, None] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    @staticmethod
    def key(address: str, password: str, stored: str) -> bytes:
        msg = "\0".join((address, password, stored)).encode("utf-8", "surrogatepass")
        return hmac.new(settings.SECRET_KEY.encode(), msg, hashlib.sha256).digest()

    def __contains__(self, key: bytes) -> bool:
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return True
            return False

    def add(self, key: bytes) -> None:
        with self._lock:
            self._entries[key] = None
            if len(self._entries) > self._size:
                self._entries.popitem(last=False)


_verified = _VerifiedCache()


class LoginRow(NamedTuple):
    account: AccountInfo
    stored: str  # the password hash
    apop: str  # the APOP secret, if any
    two_factor: bool  # a confirmed TOTP authenticator or a passkey: the password opens no mail door
    app_passwords: bool  # has at least one app password


def login_row(address: str) -> LoginRow | None:
    """What a login needs of an active account of an active domain, in one
    hand-written statement (every login reads it: the
    ORM's query building cost more CPU than the statement). Read on every
    login, never remembered: a password change, a disabled account or domain
    and a deleted account are seen by the next login in every worker."""
    try:
        addr = normalize_address(address)
    except InvalidInput:
        return None
    q = connection.ops.quote_name
    with _sql.prepared(), connection.cursor() as cursor:
        cursor.execute(
            f"SELECT a.id, a.address, a.display_name, a.quota, a.used_bytes, a.is_superuser, a.password, "
            f"a.apop_secret, "
            f"EXISTS (SELECT 1 FROM {q(TotpDevice._meta.db_table)} t WHERE t.account_id = a.id AND t.confirmed) "
            f"OR EXISTS (SELECT 1 FROM {q(Passkey._meta.db_table)} k WHERE k.account_id = a.id), "
            f"EXISTS (SELECT 1 FROM {q(AppPassword._meta.db_table)} p WHERE p.account_id = a.id) "
            f"FROM {q(Account._meta.db_table)} a JOIN {q(Domain._meta.db_table)} d "
            f"ON d.id = a.domain_id WHERE a.address = %s AND a.is_active AND d.active",
            [addr],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    account_id, addr, display_name, quota, used, superuser, stored, apop, two_factor, apps = row
    return LoginRow(
        AccountInfo(account_id, addr, display_name, quota, used, True, bool(superuser)),
        stored,
        apop,
        bool(two_factor),
        bool(apps),
    )


@no_transaction
def authenticate(address: str, password: str) -> AccountInfo | None:
    """The account if address and password match an active account, else None.

    One statement (the account row), then the verified-credential cache, and
    only on a miss the slow hash. An unknown address spends the hash's time
    too, so a wrong password does not tell whether the account exists; a
    right password found in the cache answers at once."""
    found = login_row(address)
    if found is None:
        make_password(password)  # spend the same time as a real check
        return None
    account = found.account
    return (
        account
        if password_matches(account.address, password, found.stored, rehash=upgrader(account.id, found.stored))
        else None
    )


def upgrader(account_id: int, stored: str) -> Callable[[str], None]:
    """Store the password hashed the current way, unless it was changed
    meanwhile (one conditional UPDATE)."""

    def rehash(password: str) -> None:
        Account.objects.filter(pk=account_id, password=stored).update(password=make_password(password))

    return rehash


def password_matches(
    address: str, password: str, stored: str, *, scope: str = "", rehash: Callable[[str], None] | None = None
) -> bool:
    """Does the password match this stored hash? The verified-credential
    cache first (the stored hash and the scope, e.g. which app password, are
    part of its key), the slow hash on a miss. On a match with a hash of an
    older kind or cost than PASSWORD_HASHERS' first, rehash(password) is
    called to store it anew (Django's check_password setter)."""
    key = _verified.key(address, password, scope + stored)
    if key in _verified:
        return True
    if not check_password(password, stored, setter=rehash):
        return False
    _verified.add(key)
    return True


@no_transaction
def apop_secret(address: str) -> tuple[AccountInfo, str] | None:
    """The APOP shared secret of an active account, if it has one (RFC 1939 7)."""
    found = login_row(address)
    if found is None or not found.apop or found.two_factor:
        return None  # two-factor sign-in on: only app passwords open the mail doors
    return found.account, found.apop


@atomic
def set_apop_secret(address: str, secret: str) -> None:
    account = _get_account(address)
    account.apop_secret = secret
    account.save(update_fields=["apop_secret"])


# --- aliases --------------------------------------------------------------


@atomic
def create_alias(source: str, targets: list[str]) -> AliasInfo:
    """source may be 'name@domain' or '@domain' (the domain's catch-all)."""
    if source.strip().startswith("@"):
        domain = _get_domain(source.strip()[1:])
        src = "@" + domain.name
    else:
        src = normalize_address(source)
        domain = _get_domain(domain_of(src))
    if not targets:
        raise InvalidInput("an alias needs at least one target")
    clean = tuple(dict.fromkeys(normalize_address(t) for t in targets))
    if src in clean:
        raise InvalidInput("an alias cannot point at itself")
    if Alias.objects.filter(source=src).exists() or Account.objects.filter(address=src).exists():
        raise AlreadyExists(f"{src} already exists")
    alias = Alias.objects.create(source=src, domain=domain, targets=list(clean))
    return AliasInfo(alias.id, alias.source, clean)


@atomic
def set_alias_targets(source: str, targets: list[str]) -> AliasInfo:
    alias = Alias.objects.filter(source=source.strip().lower()).first()
    if alias is None:
        raise NoSuchAlias(f"no such alias: {source}")
    clean = tuple(dict.fromkeys(normalize_address(t) for t in targets))
    if not clean:
        raise InvalidInput("an alias needs at least one target")
    alias.targets = list(clean)
    alias.save(update_fields=["targets"])
    return AliasInfo(alias.id, alias.source, clean)


@atomic
def delete_alias(source: str) -> None:
    deleted, _ = Alias.objects.filter(source=source.strip().lower()).delete()
    if not deleted:
        raise NoSuchAlias(f"no such alias: {source}")


# --- where mail goes ------------------------------------------------------


class _LocalDomains:
    """Is a domain ours and active? Asked one name at a time (and remembered
    for one lookup): a host with thousands of domains must not read them all
    for every recipient."""

    def __init__(self, known: dict[str, bool] | None = None) -> None:
        self._known: dict[str, bool] = dict(known or {})

    def __contains__(self, name: str) -> bool:
        if name not in self._known:
            self._known[name] = Domain.objects.filter(active=True, name=name).exists()
        return self._known[name]


@no_transaction
def resolve_recipient(address: str) -> RecipientCheck:
    """Expand aliases (nested, loop-safe) and catch-alls to accounts and forwards."""
    return resolve_with_usage(address)[0]


def resolve_with_usage(address: str) -> tuple[RecipientCheck, tuple[int, int] | None]:
    """resolve_recipient's body, plus (quota, used bytes) when the address is
    an account's own: then the answer, the account's settings included, is one
    statement (every message's RCPT asks this). Aliases and catch-alls take the
    general path."""
    try:
        addr = normalize_address(address)
    except InvalidInput:
        return RecipientCheck(address, "unknown"), None
    bounce = _srs.bounce_route(addr)
    if bounce is not None:
        return bounce, None
    row = _direct_lookup(addr)
    if row is None or not row[0]:
        return RecipientCheck(addr, "remote"), None
    active_domain, account_id, is_active, quota, used, filtered = row
    if account_id is not None:
        if not is_active:
            return RecipientCheck(addr, "inactive"), None
        return RecipientCheck(addr, "local", (account_id,), filtered=bool(filtered)), (quota, used)
    local, _, domain = addr.partition("@")
    if "+" in local and not Alias.objects.filter(source=addr).exists():
        # RFC 5233: user+detail@domain is user's (its Sieve scripts see the detail).
        check, usage = resolve_with_usage(f"{local.partition('+')[0]}@{domain}")
        if check.kind == "local":
            return replace(check, address=addr), usage
    return _expand(addr), None


def _direct_lookup(addr: str) -> tuple | None:
    """(domain active, account id, active, quota, used, has Sieve scripts) for a domain of ours, the account columns NULL when no
    account has the address."""
    q = connection.ops.quote_name
    scripts, domain_scripts = q(SieveScript._meta.db_table), q(DomainSieveScript._meta.db_table)
    with _sql.prepared(), connection.cursor() as cursor:
        cursor.execute(
            f"SELECT d.active, a.id, a.is_active, a.quota, a.used_bytes, "
            f"(EXISTS (SELECT 1 FROM {scripts} WHERE account_id = a.id AND active) "
            f" OR EXISTS (SELECT 1 FROM {domain_scripts} WHERE domain_id = d.id)) "
            f"FROM {q(Domain._meta.db_table)} d LEFT JOIN {q(Account._meta.db_table)} a ON a.address = %s "
            f"WHERE d.name = %s",
            [addr, domain_of(addr)],
        )
        return cursor.fetchone()


def _expand(addr: str) -> RecipientCheck:
    """Aliases (nested, loop-safe), catch-alls and forwards from an address of a local domain."""
    local_domains = _LocalDomains({domain_of(addr): True})
    accounts: dict[int, None] = {}
    forwards: dict[str, None] = {}
    inactive = False
    seen: set[str] = set()
    frontier = [addr]
    for _depth in range(MAX_ALIAS_DEPTH):
        if not frontier:
            break
        batch = [a for a in frontier if a not in seen]
        seen.update(batch)
        frontier = []
        found = {a.address: a for a in Account.objects.filter(address__in=batch)}
        aliases = {a.source: a.targets for a in Alias.objects.filter(source__in=batch)}
        for target in batch:
            if target in found:
                if found[target].is_active:
                    accounts[found[target].id] = None
                else:
                    inactive = True
            elif target in aliases:
                frontier.extend(aliases[target])
            elif domain_of(target) not in local_domains:
                forwards[target] = None
            else:
                catchall = Alias.objects.filter(source="@" + domain_of(target)).first()
                if catchall is not None and target == addr:
                    frontier.extend(catchall.targets)
    if accounts or forwards:
        return RecipientCheck(addr, "local", tuple(accounts), tuple(forwards))
    return RecipientCheck(addr, "inactive" if inactive else "unknown")


# --- quota ----------------------------------------------------------------


@no_transaction
def quota_usage(account_id: int) -> QuotaUsage:
    account = Account.objects.filter(pk=account_id).values("used_bytes", "quota").first()
    if account is None:
        raise NoSuchAccount(f"no account #{account_id}")
    return QuotaUsage(account["used_bytes"], account["quota"])


@no_transaction
def quota_check(account_ids: list[int] | tuple[int, ...], size: int) -> QuotaVerdict:
    """'ok', 'full' (temporarily over quota) or 'never' (size exceeds the whole quota)."""
    return quota_verdict(Account.objects.filter(pk__in=account_ids).values_list("quota", "used_bytes"), size)


def quota_verdict(rows: Iterable[tuple[int, int]], size: int) -> QuotaVerdict:
    """quota_check's verdict for (quota, used bytes) rows."""
    verdict: QuotaVerdict = "ok"
    for quota, used in rows:
        if quota == 0:
            continue
        if size > quota:
            return "never"
        if used + size > quota:
            verdict = "full"
    return verdict


def refuse_charge(account_ids: Iterable[int], size: int) -> NoReturn:
    """Say why charging size to these accounts was refused: TooBigForQuota,
    OverQuota, or NoSuchAccount (asked only after the charge's UPDATE
    matched no row; in a transaction, the writes before it are undone)."""
    rows = list(Account.objects.filter(pk__in=list(account_ids)).values_list("quota", "used_bytes"))
    if not rows:
        raise NoSuchAccount("no such account")
    if quota_verdict(rows, size) == "never":
        raise TooBigForQuota("the message is larger than the mailbox quota")
    raise OverQuota("the mailbox is full")


@atomic
def recalculate_usage(account_id: int) -> QuotaUsage:
    """Recount usage from the messages themselves (corrects drift). The
    account row is locked before the count: every writer changes usage with
    the message rows in one transaction and under that lock, so none commits
    between the count and the update (docs/DESIGN.md "Lock order"; no folder
    row is locked here, so the order cannot be broken)."""
    from django.db.models import Sum

    from ..models import Message

    account = Account.objects.select_for_update().filter(pk=account_id).first()
    if account is None:
        raise NoSuchAccount(f"no account #{account_id}")
    used = Message.objects.filter(folder__owner_id=account_id).aggregate(s=Sum("size"))["s"] or 0
    if used != account.used_bytes:
        Account.objects.filter(pk=account_id).update(used_bytes=used)
    return QuotaUsage(used, account.quota)
