"""Which credentials open which door: the account's own password, and its
app passwords (a generated password per mail client, opening only the doors
it was given). login() asks verify(); the webmail, the dashboard and
`manage.py apppassword` create, list and revoke app passwords here.

An app password is stored as Django's password hash, like the account's
password, and checked through the same verified-credential cache: its key
holds the app password's row id and stored hash, and the rows are read on
every login, so a revoked (deleted) app password is refused at the next
login in every worker whatever the caches hold.

Once an account has two-factor sign-in on (a confirmed TOTP authenticator),
its own password opens only the web (where the second factor is asked for);
at a mail door the right password raises AppPasswordRequired, so the door
can tell the user to make an app password."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.hashers import make_password
from django.utils import timezone

from ..models import AppPassword
from ._db import atomic, no_transaction
from .accounts import login_row, password_matches, upgrader
from .errors import AppPasswordRequired, InvalidInput, NotFound
from .types import AccountInfo

DOORS = ("imap", "pop3", "smtp", "managesieve")
# store.login's protocol names -> the door an app password is given; the web
# ("web", "manage") is no door for app passwords.
_DOOR_OF = {"imap": "imap", "pop3": "pop3", "pop2": "pop3", "smtp": "smtp", "managesieve": "managesieve"}
_LETTERS = "abcdefghijkmnpqrstuvwxyz"  # no l: it looks like 1 and I
_GROUPS, _GROUP = 4, 4  # 16 letters from 24: about 73 bits
MAX_NAME = 100


def door_of(protocol: str) -> str | None:
    """The door an app password must be given to log in by this protocol."""
    return _DOOR_OF.get(protocol)


@dataclass(frozen=True)
class Verified:
    account: AccountInfo
    app_password: int | None  # the id of the app password that matched, None: the account's own


@dataclass(frozen=True)
class AppPasswordInfo:
    id: int
    name: str
    doors: tuple[str, ...]
    created: datetime
    last_used_at: datetime | None
    last_used_door: str
    last_used_ip: str


@dataclass(frozen=True)
class NewAppPassword:
    info: AppPasswordInfo
    password: str  # shown once, never stored


def _info(row: AppPassword) -> AppPasswordInfo:
    return AppPasswordInfo(
        row.id, row.name, tuple(row.doors), row.created, row.last_used_at, row.last_used_door, row.last_used_ip
    )


def verify(address: str, password: str, *, protocol: str) -> Verified | None:
    """Whose credentials these are, by the account's own password or one of
    its app passwords given this protocol's door; None if neither matches.
    Raises AppPasswordRequired for the account's own password at a mail door
    of an account with two-factor sign-in on.

    The account's row (one statement) says whether there are app passwords
    to read; an account without two-factor sign-in tries its own password
    first, so its logins stay one statement."""
    found = login_row(address)
    if found is None:
        make_password(password)  # spend the same time as a real check
        return None
    account, door = found.account, door_of(protocol)
    own_first = not found.two_factor or door is None
    rehash = upgrader(account.id, found.stored)
    if own_first and password_matches(account.address, password, found.stored, rehash=rehash):
        return Verified(account, None)
    if door is not None and found.app_passwords:
        # A handful of rows; doors filtered here (SQLite's JSON has no "contains").
        for row_id, stored, doors in AppPassword.objects.filter(account_id=account.id).values_list(
            "id", "password", "doors"
        ):
            if door in doors and password_matches(account.address, password, stored, scope=f"app:{row_id}:"):
                return Verified(account, row_id)
    if not own_first and password_matches(account.address, password, found.stored, rehash=rehash):
        raise AppPasswordRequired("two-factor sign-in is on: this door takes app passwords only")
    return None


def _clean_doors(doors: list[str] | tuple[str, ...]) -> list[str]:
    clean = [d.strip().lower() for d in doors if d.strip()]
    unknown = [d for d in clean if d not in DOORS]
    if unknown or not clean:
        raise InvalidInput(f"doors are some of {', '.join(DOORS)}")
    return [d for d in DOORS if d in clean]


def generate_app_password() -> str:
    return "-".join("".join(secrets.choice(_LETTERS) for _ in range(_GROUP)) for _ in range(_GROUPS))


@atomic
def create_app_password(account_id: int, name: str, doors: list[str] | tuple[str, ...] = DOORS) -> NewAppPassword:
    """A new app password for these doors; its text is in the result and
    nowhere else (stored hashed)."""
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise InvalidInput(f"an app password needs a name of 1 to {MAX_NAME} characters")
    password = generate_app_password()
    row = AppPassword.objects.create(
        account_id=account_id, name=name, password=make_password(password), doors=_clean_doors(doors)
    )
    return NewAppPassword(_info(row), password)


@no_transaction
def list_app_passwords(account_id: int) -> list[AppPasswordInfo]:
    return [_info(row) for row in AppPassword.objects.filter(account_id=account_id).order_by("created", "id")]


@atomic
def revoke_app_password(account_id: int, app_password_id: int) -> None:
    """Delete it: the next login with it, in any worker, finds no row."""
    deleted, _ = AppPassword.objects.filter(account_id=account_id, id=app_password_id).delete()
    if not deleted:
        raise NotFound("no such app password")


@no_transaction
def note_app_password_use(app_password_id: int, protocol: str, ip: str) -> None:
    """Its last use (one statement; a revoked one updates nothing)."""
    AppPassword.objects.filter(id=app_password_id).update(
        last_used_at=timezone.now(), last_used_door=protocol[:16], last_used_ip=ip[:64]
    )
