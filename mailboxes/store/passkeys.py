"""Passkeys and security keys (WebAuthn, by the `webauthn` library) as a
second factor: register several, name them, remove them; any one of them
turns two-factor sign-in on, like a confirmed TOTP authenticator.

A passkey also signs in on its own (passkey_login): the browser offers the
discoverable credentials (resident keys) it holds for this host, the one
chosen names its account (its userHandle, the account id given at
registration), and an answer verified with user verification (the
device's PIN or biometric) counts as both factors. It goes through the
same throttle, failure count and login record as store.login.

The ceremony's challenge is made here and kept by the caller (the web
session) between the options and the browser's answer; the relying party
is the web's host name and origin, which the caller passes. A failed
check counts in the login throttle like a wrong TOTP code."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import webauthn
from django.conf import settings
from django.utils import timezone
from webauthn.helpers import bytes_to_base64url
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from ..models import Passkey
from ._db import atomic, no_transaction
from .accounts import get_account_by_id, login_row
from .admin_accounts import note_login
from .errors import InvalidInput, LoginBlocked, LoginFailed, NotFound
from .logins import login_refusal, record_failure
from .types import AccountInfo

MAX_NAME = 100


@dataclass(frozen=True)
class RelyingParty:
    rp_id: str  # the web's host name
    origin: str  # scheme://host[:port] the browser reports


@dataclass(frozen=True)
class Ceremony:
    options_json: str  # for navigator.credentials.create/get
    challenge: bytes  # to keep until the answer


@dataclass(frozen=True)
class PasskeyInfo:
    id: int
    name: str
    created: datetime
    last_used_at: datetime | None


def _descriptors(account_id: int) -> list[PublicKeyCredentialDescriptor]:
    return [
        PublicKeyCredentialDescriptor(id=webauthn.base64url_to_bytes(cid))
        for cid in Passkey.objects.filter(account_id=account_id).values_list("credential_id", flat=True)
    ]


@no_transaction
def list_passkeys(account_id: int) -> list[PasskeyInfo]:
    return [
        PasskeyInfo(p.id, p.name, p.created, p.last_used_at)
        for p in Passkey.objects.filter(account_id=account_id).order_by("created", "id")
    ]


@no_transaction
def passkey_registration(account_id: int, rp: RelyingParty) -> Ceremony:
    account = get_account_by_id(account_id)
    options = webauthn.generate_registration_options(
        rp_id=rp.rp_id,
        rp_name=settings.MAIL_HOSTNAME,
        user_name=account.address,
        user_id=str(account.id).encode(),
        exclude_credentials=_descriptors(account_id),
        # Discoverable where the authenticator can keep it, so that it can sign in on its own.
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED, user_verification=UserVerificationRequirement.PREFERRED
        ),
    )
    return Ceremony(webauthn.options_to_json(options), options.challenge)


@atomic
def add_passkey(account_id: int, name: str, answer: str, challenge: bytes, rp: RelyingParty) -> PasskeyInfo:
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise InvalidInput(f"a passkey needs a name of 1 to {MAX_NAME} characters")
    try:
        verified = webauthn.verify_registration_response(
            credential=json.loads(answer),
            expected_challenge=challenge,
            expected_rp_id=rp.rp_id,
            expected_origin=rp.origin,
        )
    except Exception:  # the library's many errors, all "not a valid answer"; never shown
        raise InvalidInput("the browser's answer was not a valid passkey registration") from None
    row = Passkey.objects.create(
        account_id=account_id,
        name=name,
        credential_id=bytes_to_base64url(verified.credential_id),
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
    )
    return PasskeyInfo(row.id, row.name, row.created, row.last_used_at)


@atomic
def remove_passkey(account_id: int, passkey_id: int) -> None:
    deleted, _ = Passkey.objects.filter(account_id=account_id, id=passkey_id).delete()
    if not deleted:
        raise NotFound("no such passkey")


@no_transaction
def passkey_authentication(account_id: int, rp: RelyingParty) -> Ceremony:
    options = webauthn.generate_authentication_options(rp_id=rp.rp_id, allow_credentials=_descriptors(account_id))
    return Ceremony(webauthn.options_to_json(options), options.challenge)


@no_transaction
def check_passkey(account_id: int, answer: str, challenge: bytes, rp: RelyingParty, *, protocol: str, ip: str) -> bool:
    """Is this a valid answer of one of the account's passkeys to the
    challenge? A failure counts in the login throttle; LoginBlocked while
    the throttle refuses (as check_second_factor)."""
    address = get_account_by_id(account_id).address
    until = login_refusal(address, ip, second_factor=True)
    if until is not None:
        raise LoginBlocked("too many failed logins", retry_after=until)
    if _verified_use(account_id, answer, challenge, rp):
        return True
    record_failure(address, ip, protocol)
    return False


@no_transaction
def passkey_discovery(rp: RelyingParty) -> Ceremony:
    """Options for a sign-in with a passkey alone: no account named (the
    browser lists the discoverable credentials it has for this host), user
    verification required."""
    options = webauthn.generate_authentication_options(
        rp_id=rp.rp_id, user_verification=UserVerificationRequirement.REQUIRED
    )
    return Ceremony(webauthn.options_to_json(options), options.challenge)


@no_transaction
def passkey_login(answer: str, challenge: bytes, rp: RelyingParty, *, protocol: str, ip: str) -> AccountInfo:
    """The account whose passkey answered the challenge with user
    verification, its login recorded for `protocol`, as login() does for a
    password. Raises LoginBlocked (the throttle refuses this account or
    client; the answer was not looked at) or LoginFailed (forged, replayed,
    unknown, without user verification, or a disabled account), the
    failure counted against the account the answer named and the client."""
    ip = ip[:64]
    key = _discovered(answer)
    address = key.account.address if key is not None else ""
    until = login_refusal(address, ip)
    if until is not None:
        raise LoginBlocked("too many failed logins", retry_after=until)
    found = login_row(address) if key is not None else None  # an active account of an active domain
    if found is None or not _verified_use(found.account.id, answer, challenge, rp, user_verified=True):
        record_failure(address, ip, protocol)
        raise LoginFailed("invalid credentials")
    note_login(found.account.id, protocol, ip)
    return found.account


def _discovered(answer: str) -> Passkey | None:
    """The passkey an answer names, if its userHandle names that passkey's account."""
    try:
        credential = json.loads(answer)
        key = (
            Passkey.objects.select_related("account").filter(credential_id=str(credential.get("id", ""))[:1400]).first()
        )
        handle = webauthn.base64url_to_bytes(str(credential["response"]["userHandle"]))
    except Exception:  # not JSON, no userHandle, not base64url: names nobody
        return None
    return key if key is not None and handle == str(key.account_id).encode() else None


def _verified_use(
    account_id: int, answer: str, challenge: bytes, rp: RelyingParty, *, user_verified: bool = False
) -> bool:
    try:
        credential = json.loads(answer)
        key = Passkey.objects.filter(account_id=account_id, credential_id=str(credential.get("id", ""))).first()
        if key is None:
            return False
        verified = webauthn.verify_authentication_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp.rp_id,
            expected_origin=rp.origin,
            credential_public_key=bytes(key.public_key),
            credential_current_sign_count=key.sign_count,
            require_user_verification=user_verified,
        )
    except Exception:  # malformed or forged: one answer, "no"
        return False
    # A sign count that did not grow (when the key keeps one) was refused above;
    # the conditional update keeps two racing uses of one answer from both winning.
    return (
        Passkey.objects.filter(pk=key.pk, sign_count=key.sign_count).update(
            sign_count=verified.new_sign_count, last_used_at=timezone.now()
        )
        == 1
    )
