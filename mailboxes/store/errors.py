"""Typed errors of the store. Each front door maps them to its own replies
(SMTP 4xx/5xx, IMAP NO [CODE], POP3 -ERR [CODE]); their text is for logs and
admin pages, never raw exception text from below."""

from __future__ import annotations

from typing import Literal


class StoreError(Exception):
    """Base class. `temporary` tells a protocol whether to say try-again."""

    temporary = False


class Unavailable(StoreError):
    """The database cannot be reached or gave up; nothing was changed."""

    temporary = True


class InvalidInput(StoreError):
    """Malformed address, name, size or similar."""


class NotFound(StoreError):
    pass


class NoSuchDomain(NotFound):
    pass


class NoSuchAccount(NotFound):
    pass


class NoSuchAlias(NotFound):
    pass


class NoSuchFolder(NotFound):
    pass


class AlreadyExists(StoreError):
    pass


class NotPermitted(StoreError):
    """The operation is refused by policy (e.g. deleting INBOX)."""


class OverQuota(StoreError):
    """The account cannot take this many more bytes now (temporary: mail may be deleted)."""

    temporary = True


class TooBigForQuota(OverQuota):
    """The message alone is larger than the whole quota: it can never fit."""

    temporary = False


class LimitExceeded(StoreError):
    pass


class TooManySessions(LimitExceeded):
    """The account has MAIL_MAX_SESSIONS_PER_ACCOUNT sessions open already: try later."""

    temporary = True


class SendingLimited(LimitExceeded):
    """The account sent to MAIL_SEND_LIMIT recipients within the hour: try later."""

    temporary = True


class MaildropLocked(StoreError):
    """Another live session holds the account's POP maildrop lock (RFC 1939 8, RFC 2449 IN-USE)."""

    temporary = True


class LoginFailed(StoreError):
    """Wrong password, unknown or disabled account: one reason for all, so a
    client learns nothing about which."""


class AppPasswordRequired(LoginFailed):
    """The account's own password, right, at a mail door (IMAP, POP3, POP2,
    SMTP, ManageSieve) of an account with two-factor sign-in on: only its app
    passwords open those doors. Each door says so in its own words."""


class LoginBlocked(StoreError):
    """Too many recent failures from this IP (or for this account from a new
    IP): refused before the credentials were looked at. Try again later."""

    temporary = True

    def __init__(self, message: str, *, retry_after: float = 0.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class NoSuchScript(NotFound):
    """No Sieve script of that name (ManageSieve NO (NONEXISTENT), RFC 5804 1.3)."""


class ScriptIsActive(StoreError):
    """The active Sieve script cannot be deleted (RFC 5804 2.10: NO (ACTIVE))."""


class InvalidScript(StoreError):
    """Not valid Sieve: `reason` (a fixed phrase of the checker, safe to show)
    at `line`, for the client (RFC 5804 2.6)."""

    def __init__(self, reason: str, *, line: int) -> None:
        super().__init__(f"line {line}: {reason}")
        self.reason = reason
        self.line = line


class ScriptQuotaExceeded(LimitExceeded):
    """Over MAIL_SIEVE_MAX_SCRIPTS ("maxscripts") or MAIL_SIEVE_MAX_SCRIPT_SIZE
    ("maxsize"): RFC 5804 1.3 QUOTA/MAXSCRIPTS and QUOTA/MAXSIZE."""

    def __init__(self, message: str, *, kind: Literal["maxscripts", "maxsize"]) -> None:
        super().__init__(message)
        self.kind = kind


class RejectedByFilter(StoreError):
    """Every local recipient's Sieve script rejected the message (RFC 5429):
    the MX answers 550 5.7.1 at DATA. `reason` is the script's text, one line."""

    def __init__(self, reason: str) -> None:
        super().__init__("rejected by the recipient's filter")
        self.reason = reason
