"""The dashboard's side of the store: who may act on which domain, domains,
aliases and the audit log. Accounts and roles are in admin_accounts.py, the
overview, the outbound queue and the audit listing in admin_stats.py.

Every function here takes the acting administrator as `actor=` (an Actor from
admin_actor()) and checks it itself, so the dashboard, a script or a future
API behave the same. The rules, in this one place:

- a superuser manages everything;
- a domain admin manages the domains granted in Account.admin_domains. A
  domain, account, alias or queued message outside them does not exist for
  them: NotFound, which the web answers with 404 and so tells nothing;
- inside their domains a domain admin may not change a superuser or an admin
  of some other domain, nor a domain's limits (active, maximum accounts,
  external forwards), nor create or delete domains: NotPermitted (403);
- nobody changes their own role, disables or deletes themselves.

Every change writes an AuditEntry (who, what, when) in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.db.models import Count, IntegerField, JSONField, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from ..models import Account, Alias, AuditEntry, Domain
from . import accounts as _accounts
from . import dkim as _dkim
from ._db import atomic
from .addresses import domain_of, normalize_address, normalize_domain
from .admin_types import Actor, AliasRow, DomainDetail, Page
from .errors import InvalidInput, NoSuchAccount, NoSuchAlias, NoSuchDomain, NotPermitted
from .mtasts import MTA_STS_MODES

T = TypeVar("T")
MAX_PER_PAGE = 200
MAX_QUERY = 200
MAX_RETENTION_DAYS = 3650


# --- who is acting --------------------------------------------------------


@atomic
def admin_actor(account_id: int) -> Actor | None:
    """The dashboard identity of an account, or None if it may not use the
    dashboard at all (disabled, or neither superuser nor domain admin)."""
    row = Account.objects.filter(pk=account_id, is_active=True).values("id", "address", "is_superuser").first()
    if row is None:
        return None
    domains = list(Domain.objects.filter(admins=account_id).order_by("name").values_list("id", "name"))
    if not row["is_superuser"] and not domains:
        return None
    return Actor(
        row["id"], row["address"], row["is_superuser"], frozenset(i for i, _ in domains), tuple(n for _, n in domains)
    )


def require_superuser(actor: Actor, what: str) -> None:
    if not actor.is_superuser:
        raise NotPermitted(f"only a superuser may {what}")


def scoped(actor: Actor, qs: QuerySet, field: str = "domain_id") -> QuerySet:
    """Narrow a queryset to the actor's domains (a superuser sees everything)."""
    return qs if actor.is_superuser else qs.filter(**{f"{field}__in": actor.domain_ids})


def domain_for(actor: Actor, name: str, *, lock: bool = False) -> Domain:
    """The named domain if the actor manages it; otherwise it does not exist."""
    try:
        clean = normalize_domain(name)
    except InvalidInput:
        raise NoSuchDomain(f"no such domain: {name}") from None
    qs = Domain.objects.select_for_update() if lock else Domain.objects
    domain = qs.filter(name=clean).first()
    if domain is None or not actor.manages(domain.id):
        raise NoSuchDomain(f"no such domain: {name}")
    return domain


def account_for(actor: Actor, account_id: int, *, change: bool = False) -> Account:
    """The account if it is in the actor's domains. With change=True, also
    refuse (NotPermitted) what a domain admin may look at but not change: a
    superuser, or an admin of a domain the actor does not manage."""
    account = scoped(actor, Account.objects.select_related("domain")).filter(pk=account_id).first()
    if account is None:
        raise NoSuchAccount(f"no account #{account_id}")
    if change and not can_change(actor, account):
        raise NotPermitted(f"only a superuser may change {account.address}")
    return account


def can_change(actor: Actor, account: Account) -> bool:
    if actor.is_superuser:
        return True
    if account.is_superuser:
        return False
    return all(actor.manages(i) for i in account.admin_domains.values_list("id", flat=True))


def audit(actor: Actor, action: str, target: str, **detail: Any) -> None:
    AuditEntry.objects.create(actor_id=actor.id, action=action, target=target[:400], detail=detail)


# --- lists ----------------------------------------------------------------


def paginate(qs: QuerySet, page: int, per_page: int, convert: Callable[[Any], T]) -> Page[T]:
    """One COUNT and one LIMIT/OFFSET query, whatever the size of the table."""
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    total = qs.count()
    last = max(1, -(-total // per_page))
    number = max(1, min(page, last))
    start = (number - 1) * per_page
    return Page([convert(row) for row in qs[start : start + per_page]], total, number, per_page)


def search_terms(query: str) -> str:
    return query.strip()[:MAX_QUERY]


def count_of(qs: QuerySet, group: str, value: Any = None) -> Coalesce:
    """A correlated subquery: COUNT (or SUM of `value`) of qs rows per outer row."""
    agg = Sum(value) if value else Count("pk")
    sub = qs.order_by().values(group).annotate(v=agg).values("v")
    return Coalesce(Subquery(sub, output_field=IntegerField()), 0)


# --- domains --------------------------------------------------------------


def _domains_with_usage(qs: QuerySet) -> QuerySet:
    accounts = Account.objects.filter(domain=OuterRef("pk"))
    aliases = Alias.objects.filter(domain=OuterRef("pk")).exclude(source__startswith="@")
    catch_all = Alias.objects.filter(domain=OuterRef("pk"), source__startswith="@").values("targets")[:1]
    return qs.annotate(
        n_accounts=count_of(accounts, "domain"),
        n_aliases=count_of(aliases, "domain"),
        used=count_of(accounts, "domain", "used_bytes"),
        catch_all=Subquery(catch_all, output_field=JSONField()),
    )


def _domain_detail(d: Domain) -> DomainDetail:
    return DomainDetail(
        d.id,
        d.name,
        d.active,
        d.default_quota,
        d.max_accounts,
        d.trash_retention_days,
        d.allow_external_forwards,
        d.n_accounts,
        d.n_aliases,
        d.used,
        tuple(d.catch_all or ()),
        d.mta_sts_mode,
        d.mta_sts_id,
        d.require_two_factor,
    )


@atomic
def admin_list_domains(actor: Actor, *, query: str = "", page: int = 1, per_page: int = 50) -> Page[DomainDetail]:
    qs = scoped(actor, Domain.objects.all(), "id").order_by("name")
    if q := search_terms(query):
        qs = qs.filter(name__icontains=q)
    return paginate(_domains_with_usage(qs), page, per_page, _domain_detail)


@atomic
def admin_domain(actor: Actor, name: str) -> DomainDetail:
    domain = domain_for(actor, name)
    return _domain_detail(_domains_with_usage(Domain.objects.filter(pk=domain.pk)).get())


@atomic
def admin_create_domain(actor: Actor, name: str, *, default_quota: int = 0, max_accounts: int = 0) -> DomainDetail:
    require_superuser(actor, "create domains")
    info = _accounts.create_domain(name, default_quota=default_quota, max_accounts=max_accounts)
    audit(actor, "domain.create", info.name, default_quota=default_quota, max_accounts=max_accounts)
    return admin_domain(actor, info.name)


@atomic
def admin_update_domain(
    actor: Actor,
    name: str,
    *,
    default_quota: int | None = None,
    max_accounts: int | None = None,
    active: bool | None = None,
    allow_external_forwards: bool | None = None,
    trash_retention_days: int | None = None,
    catch_all: list[str] | None = None,
    mta_sts_mode: str | None = None,
    require_two_factor: bool | None = None,
) -> DomainDetail:
    """Change a domain's settings; None leaves a setting as it is. catch_all
    is the list of targets of '@domain' ([] removes the catch-all);
    mta_sts_mode one of MTA_STS_MODES (a change gives the policy a new id)."""
    domain = domain_for(actor, name, lock=True)
    limits = {"max_accounts": max_accounts, "active": active, "allow_external_forwards": allow_external_forwards}
    changed: dict[str, Any] = {}
    for field, value in limits.items():
        if value is not None and value != getattr(domain, field):
            require_superuser(actor, "change a domain's limits")
            changed[field] = value
    for field, value in (
        ("default_quota", default_quota),
        ("trash_retention_days", trash_retention_days),
        ("require_two_factor", require_two_factor),
    ):
        if value is not None and value != getattr(domain, field):
            changed[field] = value
    if mta_sts_mode is not None and mta_sts_mode != domain.mta_sts_mode:
        if mta_sts_mode not in MTA_STS_MODES:
            raise InvalidInput(f"MTA-STS mode must be one of {', '.join(m or 'off' for m in MTA_STS_MODES)}")
        changed["mta_sts_mode"] = mta_sts_mode
        changed["mta_sts_id"] = timezone.now().strftime("%Y%m%d%H%M%S%f")  # RFC 8461 3.1: 1-32 alphanumerics
    for field in ("default_quota", "max_accounts"):
        if changed.get(field, 0) < 0:
            raise InvalidInput(f"{field.replace('_', ' ')} must not be negative")
    if not 1 <= changed.get("trash_retention_days", 1) <= MAX_RETENTION_DAYS:
        raise InvalidInput(f"retention must be between 1 and {MAX_RETENTION_DAYS} days")
    if changed:
        for field, value in changed.items():
            setattr(domain, field, value)
        domain.save(update_fields=list(changed))
    if catch_all is not None and (targets := _set_catch_all(domain, catch_all)) is not None:
        changed["catch_all"] = targets
    if changed:
        audit(actor, "domain.update", domain.name, **changed)
    return admin_domain(actor, domain.name)


def _set_catch_all(domain: Domain, targets: list[str]) -> list[str] | None:
    """Make '@domain' point at targets; the new targets, or None if nothing changed."""
    source = "@" + domain.name
    clean = check_targets(domain, targets)
    current = Alias.objects.filter(source=source).values_list("targets", flat=True).first()
    if clean == (current or []):
        return None
    if not clean:
        _accounts.delete_alias(source)
    elif current is not None:
        _accounts.set_alias_targets(source, clean)
    else:
        _accounts.create_alias(source, clean)
    return clean


@atomic
def admin_delete_domain(actor: Actor, name: str, *, with_accounts: bool = False) -> None:
    require_superuser(actor, "delete domains")
    domain = domain_for(actor, name)
    accounts = domain.accounts.count()
    if accounts and not with_accounts:
        plural = "" if accounts == 1 else "s"
        raise InvalidInput(f"{domain.name} still has {accounts} account{plural}: delete them with it, or first")
    _accounts.delete_domain(domain.name, force=with_accounts)
    audit(actor, "domain.delete", domain.name, accounts=accounts)


@atomic
def admin_generate_dkim(
    actor: Actor, name: str, *, selector: str = "mail", algorithm: str = "rsa"
) -> _dkim.DkimKeyInfo:
    """A new signing key for the domain (it replaces a key with the same selector)."""
    domain = domain_for(actor, name)
    key = _dkim.generate_dkim_key(domain.name, selector, algorithm, replace=True)
    audit(actor, "domain.dkim", domain.name, selector=selector, algorithm=algorithm)
    return key


@atomic
def hosted_domain(name: str) -> str | None:
    """The normalised name if this host serves that domain and it is active
    (client autoconfiguration answers only for those)."""
    try:
        clean = normalize_domain(name)
    except InvalidInput:
        return None
    return clean if Domain.objects.filter(name=clean, active=True).exists() else None


# --- aliases --------------------------------------------------------------


def check_targets(domain: Domain, targets: Iterable[str]) -> list[str]:
    """Normalised targets; one on another host only where the domain allows
    external forwards."""
    clean = list(dict.fromkeys(normalize_address(t) for t in targets if t.strip()))
    outside = {domain_of(t) for t in clean}
    local = set(Domain.objects.filter(name__in=outside).values_list("name", flat=True))
    for target in clean:
        if domain_of(target) not in local and not domain.allow_external_forwards:
            raise InvalidInput(
                f"{target} is on another host, and {domain.name} does not allow forwarding to other hosts"
            )
    return clean


def _alias_row(a: Alias) -> AliasRow:
    return AliasRow(a.id, a.source, a.domain.name, tuple(a.targets))


def _alias_for(actor: Actor, alias_id: int) -> Alias:
    alias = scoped(actor, Alias.objects.select_related("domain")).filter(pk=alias_id).first()
    if alias is None:
        raise NoSuchAlias(f"no alias #{alias_id}")
    return alias


@atomic
def admin_list_aliases(
    actor: Actor, *, domain: str | None = None, query: str = "", page: int = 1, per_page: int = 50
) -> Page[AliasRow]:
    qs = scoped(actor, Alias.objects.select_related("domain")).order_by("source")
    if domain:
        qs = qs.filter(domain=domain_for(actor, domain))
    if q := search_terms(query):
        qs = qs.filter(Q(source__icontains=q) | Q(targets__icontains=q))
    return paginate(qs, page, per_page, _alias_row)


@atomic
def admin_alias(actor: Actor, alias_id: int) -> AliasRow:
    return _alias_row(_alias_for(actor, alias_id))


@atomic
def admin_create_alias(actor: Actor, source: str, targets: list[str]) -> AliasRow:
    """source is 'name@domain' or '@domain' (the domain's catch-all)."""
    text = source.strip()
    domain = domain_for(actor, text[1:] if text.startswith("@") else domain_of(normalize_address(text)))
    info = _accounts.create_alias(text, check_targets(domain, targets))
    audit(actor, "alias.create", info.source, targets=list(info.targets))
    return admin_alias(actor, info.id)


@atomic
def admin_update_alias(actor: Actor, alias_id: int, targets: list[str]) -> AliasRow:
    alias = _alias_for(actor, alias_id)
    clean = check_targets(alias.domain, targets)
    if alias.source in clean:
        raise InvalidInput("an alias cannot point at itself")
    info = _accounts.set_alias_targets(alias.source, clean)
    audit(actor, "alias.update", alias.source, targets=list(info.targets))
    return admin_alias(actor, alias_id)


@atomic
def admin_delete_alias(actor: Actor, alias_id: int) -> None:
    alias = _alias_for(actor, alias_id)
    _accounts.delete_alias(alias.source)
    audit(actor, "alias.delete", alias.source, targets=alias.targets)
