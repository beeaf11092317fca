"""Passkeys and security keys (WebAuthn, by the `webauthn` library) as a
second factor: register several, name them, remove them; any one of them
turns two-factor sign-in on, like a confirmed TOTP authenticator.

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
from webauthn.helpers.structs import PublicKeyCredentialDescriptor

from ..models import Passkey
from ._db import atomic, no_transaction
from .accounts import get_account_by_id
from .errors import InvalidInput, LoginBlocked, NotFound
from .logins import login_refusal, record_failure

MAX_NAME = 100


@dataclass(frozen=True)
class RelyingParty:
    rp_id: str    # the web's host name
    origin: str   # scheme://host[:port] the browser reports


@dataclass(frozen=True)
class Ceremony:
    options_json: str  # for navigator.credentials.create/get
    challenge: bytes   # to keep until the answer


@dataclass(frozen=True)
class PasskeyInfo:
    id: int
    name: str
    created: datetime
    last_used_at: datetime | None


def _descriptors(account_id: int) -> list[PublicKeyCredentialDescriptor]:
    return [PublicKeyCredentialDescriptor(id=webauthn.base64url_to_bytes(cid)) for cid in
            Passkey.objects.filter(account_id=account_id).values_list("credential_id", flat=True)]


@no_transaction
def list_passkeys(account_id: int) -> list[PasskeyInfo]:
    return [PasskeyInfo(p.id, p.name, p.created, p.last_used_at)
            for p in Passkey.objects.filter(account_id=account_id).order_by("created", "id")]


@no_transaction
def passkey_registration(account_id: int, rp: RelyingParty) -> Ceremony:
    account = get_account_by_id(account_id)
    options = webauthn.generate_registration_options(
        rp_id=rp.rp_id, rp_name=settings.MAIL_HOSTNAME, user_name=account.address,
        user_id=str(account.id).encode(), exclude_credentials=_descriptors(account_id))
    return Ceremony(webauthn.options_to_json(options), options.challenge)


@atomic
def add_passkey(account_id: int, name: str, answer: str, challenge: bytes, rp: RelyingParty) -> PasskeyInfo:
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise InvalidInput(f"a passkey needs a name of 1 to {MAX_NAME} characters")
    try:
        verified = webauthn.verify_registration_response(
            credential=json.loads(answer), expected_challenge=challenge, expected_rp_id=rp.rp_id,
            expected_origin=rp.origin)
    except Exception:  # the library's many errors, all "not a valid answer"; never shown
        raise InvalidInput("the browser's answer was not a valid passkey registration") from None
    row = Passkey.objects.create(account_id=account_id, name=name,
                                 credential_id=bytes_to_base64url(verified.credential_id),
                                 public_key=verified.credential_public_key, sign_count=verified.sign_count)
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
def check_passkey(account_id: int, answer: str, challenge: bytes, rp: RelyingParty, *,
                  protocol: str, ip: str) -> bool:
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


def _verified_use(account_id: int, answer: str, challenge: bytes, rp: RelyingParty) -> bool:
    try:
        credential = json.loads(answer)
        key = Passkey.objects.filter(account_id=account_id, credential_id=str(credential.get("id", ""))).first()
        if key is None:
            return False
        verified = webauthn.verify_authentication_response(
            credential=credential, expected_challenge=challenge, expected_rp_id=rp.rp_id,
            expected_origin=rp.origin, credential_public_key=bytes(key.public_key),
            credential_current_sign_count=key.sign_count)
    except Exception:  # malformed or forged: one answer, "no"
        return False
    # A sign count that did not grow (when the key keeps one) was refused above;
    # the conditional update keeps two racing uses of one answer from both winning.
    return Passkey.objects.filter(pk=key.pk, sign_count=key.sign_count).update(
        sign_count=verified.new_sign_count, last_used_at=timezone.now()) == 1
