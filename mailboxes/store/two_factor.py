"""Two-factor sign-in: an RFC 6238 authenticator (TOTP, by pyotp) per
account, and ten single-use recovery codes.

An account has two-factor sign-in on while its authenticator is confirmed
(enrolment ends with a right code). Then the web asks for a code after the
password (check_second_factor) and the account's own password no longer
opens a mail door (credentials.verify: only app passwords do).

A code is accepted once: the time step of the last accepted code is kept and
a code of that step or an earlier one is refused (RFC 6238 5.2), by one
conditional UPDATE, so two workers racing with one code cannot both win.
Codes of the step before and after now are accepted (clock drift). Wrong
codes are failed logins like wrong passwords: counted against the IP and
the account, and refused while the throttle says so (logins.py).

Recovery codes are 16 random letters (about 73 bits), so they are stored
as SHA-256 digests and found by their digest: one statement deletes the one
used, and two racing uses cannot both succeed."""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass

import pyotp
from django.conf import settings
from django.db.models import Count

from ..models import Account, Passkey, RecoveryCode, TotpDevice
from ._db import atomic, no_transaction
from .accounts import get_account, get_account_by_id, login_row, password_matches
from .admin import account_for, audit
from .admin_types import Actor
from .credentials import generate_app_password
from .errors import InvalidInput, LoginBlocked, NotPermitted
from .logins import login_refusal, record_failure

RECOVERY_CODES = 10
DRIFT_STEPS = 1  # codes of one step before and after now are accepted


@dataclass(frozen=True)
class Enrolment:
    secret: str  # base32, for typing into an authenticator by hand
    uri: str  # otpauth://totp/..., what the QR code holds


def _issuer() -> str:
    return settings.MAIL_HOSTNAME


def _digest(code: str) -> str:
    return hashlib.sha256(code.strip().lower().encode("utf-8", "surrogatepass")).hexdigest()


def _new_recovery_codes(account_id: int) -> list[str]:
    RecoveryCode.objects.filter(account_id=account_id).delete()
    codes = [generate_app_password() for _ in range(RECOVERY_CODES)]
    RecoveryCode.objects.bulk_create(RecoveryCode(account_id=account_id, code=_digest(c)) for c in codes)
    return codes


def _enrolment(address: str, secret: str) -> Enrolment:
    return Enrolment(secret, pyotp.TOTP(secret).provisioning_uri(name=address, issuer_name=_issuer()))


@no_transaction
def two_factor_enabled(account_id: int) -> bool:
    """A confirmed TOTP authenticator or a passkey (passkeys.py)."""
    return (
        TotpDevice.objects.filter(account_id=account_id, confirmed=True).exists()
        or Passkey.objects.filter(account_id=account_id).exists()
    )


@no_transaction
def totp_enabled(account_id: int) -> bool:
    return TotpDevice.objects.filter(account_id=account_id, confirmed=True).exists()


@no_transaction
def must_enrol(account_id: int) -> bool:
    """Must this account set up two-factor sign-in before anything else?
    Its domain requires it, or MAIL_REQUIRE_2FA_FOR_ADMINS and it is a
    superuser or a domain admin; and it has not."""
    account = (
        Account.objects.filter(pk=account_id)
        .annotate(admin_of=Count("admin_domains"))
        .values("domain__require_two_factor", "is_superuser", "admin_of")
        .first()
    )
    if account is None or two_factor_enabled(account_id):
        return False
    admin = account["is_superuser"] or account["admin_of"] > 0
    return bool(account["domain__require_two_factor"] or (settings.MAIL_REQUIRE_2FA_FOR_ADMINS and admin))


@atomic
def begin_totp(account_id: int) -> Enrolment:
    """A new, unconfirmed authenticator (replacing an unconfirmed one)."""
    account = get_account_by_id(account_id)
    if totp_enabled(account_id):
        raise NotPermitted("an authenticator app is already set up")
    secret = pyotp.random_base32()
    TotpDevice.objects.update_or_create(account_id=account_id, defaults={"secret": secret, "last_counter": -1})
    return _enrolment(account.address, secret)


def _matching_step(secret: str, code: str, after: int) -> int | None:
    """The time step (later than `after`) whose code this is, within the drift."""
    code = code.strip().replace(" ", "")
    if not (code.isascii() and code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    now = totp.timecode(time.time())
    for step in range(now - DRIFT_STEPS, now + DRIFT_STEPS + 1):
        if step > after and hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _use_code(account_id: int, code: str, *, confirmed: bool) -> bool:
    """Accept a TOTP code once: the step is claimed by one conditional UPDATE."""
    device = TotpDevice.objects.filter(account_id=account_id, confirmed=confirmed).first()
    if device is None:
        return False
    step = _matching_step(device.secret, code, device.last_counter)
    return (
        step is not None
        and TotpDevice.objects.filter(pk=device.pk, last_counter__lt=step).update(last_counter=step, confirmed=True)
        == 1
    )


@atomic
def confirm_totp(account_id: int, code: str) -> list[str]:
    """Turn two-factor sign-in on with the first right code from the new
    authenticator; the ten recovery codes, shown once, are the result."""
    if not _use_code(account_id, code, confirmed=False):
        raise InvalidInput("that code is not right; try the one your app shows now")
    return _new_recovery_codes(account_id)


@no_transaction
def check_second_factor(account_id: int, code: str, *, protocol: str, ip: str) -> bool:
    """Is this the account's current TOTP code (not used before) or one of
    its unused recovery codes (used up now)? A wrong one is a failed login,
    counted like a wrong password; raises LoginBlocked while the throttle
    refuses the client."""
    address = get_account_by_id(account_id).address
    until = login_refusal(address, ip, second_factor=True)
    if until is not None:
        raise LoginBlocked("too many failed logins", retry_after=until)
    if (
        _use_code(account_id, code, confirmed=True)
        or RecoveryCode.objects.filter(account_id=account_id, code=_digest(code)).delete()[0] == 1
    ):
        return True
    record_failure(address, ip, protocol)
    return False


@no_transaction
def disable_two_factor(account_id: int, password: str, code: str, *, protocol: str, ip: str) -> None:
    """Turn it off with the account's password and a code (or recovery code)."""
    account = get_account_by_id(account_id)
    row = login_row(account.address)
    if row is None or not password_matches(account.address, password, row.stored):
        record_failure(account.address, ip, protocol)
        raise InvalidInput("the password is not right")
    if not check_second_factor(account_id, code, protocol=protocol, ip=ip):
        raise InvalidInput("that code is not right")
    _remove(account_id)


@atomic
def _remove(account_id: int, *, passkeys: bool = False) -> None:
    TotpDevice.objects.filter(account_id=account_id).delete()
    RecoveryCode.objects.filter(account_id=account_id).delete()
    if passkeys:
        Passkey.objects.filter(account_id=account_id).delete()


@no_transaction
def recovery_codes_left(account_id: int) -> int:
    return RecoveryCode.objects.filter(account_id=account_id).count()


@atomic
def set_totp(address: str) -> Enrolment:
    """Scripted set-up (`manage.py twofactor --totp`): a new authenticator,
    on at once, replacing any other; the caller prints the URI once."""
    account = get_account(address)
    secret = pyotp.random_base32()
    TotpDevice.objects.update_or_create(
        account_id=account.id, defaults={"secret": secret, "confirmed": True, "last_counter": -1}
    )
    return _enrolment(account.address, secret)


@atomic
def remove_two_factor(address: str) -> None:
    """Turn it off (`manage.py twofactor --off`)."""
    _remove(get_account(address).id, passkeys=True)


@atomic
def admin_reset_two_factor(actor: Actor, account_id: int) -> None:
    """An administrator turns an account's two-factor sign-in off (a lost
    phone and lost recovery codes): audited; the account enrols again."""
    account = account_for(actor, account_id, change=True)
    _remove(account.id, passkeys=True)
    audit(actor, "account.two_factor_reset", account.address)
