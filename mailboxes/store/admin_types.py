"""Plain values the dashboard's store functions return (mailboxes/store/admin*.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Actor:
    """Who is acting in the dashboard, and over which domains.

    Built once per request by admin_actor(); every admin store function takes
    it as `actor=` and decides from it alone (DESIGN.md: one place for
    permissions)."""

    id: int
    address: str
    is_superuser: bool
    domain_ids: frozenset[int] = frozenset()
    domain_names: tuple[str, ...] = ()

    def manages(self, domain_id: int) -> bool:
        return self.is_superuser or domain_id in self.domain_ids


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    number: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


@dataclass(frozen=True)
class DomainDetail:
    id: int
    name: str
    active: bool
    default_quota: int
    max_accounts: int
    trash_retention_days: int
    allow_external_forwards: bool
    accounts: int = 0
    aliases: int = 0
    used_bytes: int = 0
    catch_all: tuple[str, ...] = ()
    mta_sts_mode: str = ""  # "" (no policy), none, testing or enforce
    mta_sts_id: str = ""
    require_two_factor: bool = False


@dataclass(frozen=True)
class AccountRow:
    id: int
    address: str
    display_name: str
    domain: str
    quota: int
    used_bytes: int
    is_active: bool
    is_superuser: bool
    is_domain_admin: bool
    last_login: datetime | None
    has_totp: bool = False  # a confirmed authenticator app
    has_passkey: bool = False  # one passkey or security key at least

    @property
    def percent_used(self) -> int:
        return min(100, self.used_bytes * 100 // self.quota) if self.quota else 0

    @property
    def two_factor(self) -> str:
        """The account's second factors, as the dashboard's list names them."""
        return {(False, False): "none", (True, False): "TOTP", (False, True): "passkey", (True, True): "both"}[
            (self.has_totp, self.has_passkey)
        ]


@dataclass(frozen=True)
class FolderUsage:
    name: str
    special_use: str
    messages: int
    size: int


@dataclass(frozen=True)
class LoginInfo:
    protocol: str
    at: datetime
    ip: str


@dataclass(frozen=True)
class AccountDetail:
    account: AccountRow
    admin_domains: tuple[str, ...]
    folders: list[FolderUsage]
    logins: list[LoginInfo]
    messages: int
    message_bytes: int
    # May the actor who asked change this account (a domain admin may not touch a superuser)?
    editable: bool = True
    # "Send as" grants: addresses and '@domain's it may use beyond its own and its aliases.
    send_as: tuple[str, ...] = ()
    two_factor: bool = False  # two-factor sign-in on (a confirmed authenticator or a passkey)


@dataclass(frozen=True)
class CreatedAccount:
    account: AccountRow
    generated_password: str = ""  # shown once, when the dashboard made it up


@dataclass(frozen=True)
class AliasRow:
    id: int
    source: str
    domain: str
    targets: tuple[str, ...]

    @property
    def is_catch_all(self) -> bool:
        return self.source.startswith("@")


@dataclass(frozen=True)
class QueueRow:
    id: int  # the OutboundRecipient
    message_id: int
    address: str
    state: str
    attempts: int
    next_attempt: datetime
    last_error: str
    mail_from: str
    sender: str
    created: datetime
    size: int
    subject: str
    bounce: str = ""  # the last DSN that came back about it: "5.1.1 diagnostic" (store/bounces.py)


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: datetime
    actor: str
    action: str
    target: str
    detail: dict


@dataclass(frozen=True)
class DayCount:
    day: date
    received: int
    sent: int


@dataclass(frozen=True)
class Overview:
    domains: int
    accounts: int
    active_accounts: int
    aliases: int
    used_bytes: int
    quota_bytes: int  # sum of the limited accounts' quotas
    queue: dict[str, int]
    days: list[DayCount]
    top_accounts: list[AccountRow]
    near_quota: list[AccountRow]
    near_quota_percent: int = 90
