"""Every reply Mailhost's SMTP adds to aiosmtpd's, and the enhanced status
codes (RFC 2034, RFC 3463) for aiosmtpd's own replies. Pure: no I/O."""

from __future__ import annotations

import re

OK = "250 2.0.0 Ok"
SENDER_OK = "250 2.1.0 Sender ok"
RECIPIENT_OK = "250 2.1.5 Recipient ok"
DELIVERED = "250 2.0.0 Ok: stored as {id}"
# RFC 5321 3.5.3: 252 when the server will not say whether an address exists.
VRFY = "252 2.5.2 Cannot VRFY user, but will accept message and attempt delivery"
VRFY_SYNTAX = "501 5.5.4 Syntax: VRFY <address>"
CHUNK_RECEIVED = "250 2.0.0 {size} octets received"  # RFC 3030 2: a BDAT that is not the LAST
# RFC 8689 5: 5.7.10 "REQUIRETLS support required"; the parameter needs a TLS session.
REQUIRETLS_WITHOUT_TLS = "530 5.7.10 REQUIRETLS needs a TLS session (STARTTLS first)"
DSN_SYNTAX = "501 5.5.4 Bad DSN parameter (RFC 3461: NOTIFY, ORCPT, RET, ENVID)"
# A BDAT whose size cannot be read: where its chunk ends is unknown, so the
# connection closes (RFC 5321 3.8: 421 may answer any command).
BDAT_SYNTAX = "421 4.5.4 Syntax: BDAT <octets> [LAST]; the chunk cannot be found, closing"
# RFC 3030 2 and 3: one transaction is DATA or BDAT, never both, and
# BODY=BINARYMIME only with BDAT.
BDAT_NEEDS_RCPT = "503 5.5.1 Error: need RCPT command"
DATA_AFTER_BDAT = "503 5.5.1 DATA may not follow BDAT in one transaction"
DATA_BINARYMIME = "503 5.5.1 BODY=BINARYMIME needs BDAT, not DATA"

SHUTDOWN = "421 4.3.2 Service shutting down, closing transmission channel"
TIMEOUT = "421 4.4.2 Idle timeout exceeded, closing transmission channel"
UNAVAILABLE = "451 4.3.0 Mail store temporarily unavailable, try again later"
# RFC 5321 4.2.3: 451 "Requested action aborted: local error in processing".
LOCAL_ERROR = "451 4.3.0 Local error in processing, try again later"
MAILBOX_FULL = "452 4.2.2 Mailbox full, try again later"
TOO_MANY_RECIPIENTS = "452 4.5.3 Too many recipients"  # RFC 5321 4.5.3.1.10
AUTH_TEMPFAIL = "454 4.7.0 Temporary authentication failure"  # RFC 4954 6
AUTH_BLOCKED = "454 4.7.0 Too many failed logins, try again later"  # RFC 4954 6: temporary
# RFC 5321 4.2.5 (450: not taken, try again), RFC 3463 X.7.0: a policy refusal.
SENDING_LIMITED = "450 4.7.0 Sending rate limit reached for this account, try again later"

# RFC 5321 4.1.2: neither takes a control character; one would reach the
# stored Received/Return-Path/Authentication-Results fields (issue #15 item 11).
BAD_HELO = "501 5.5.2 Control characters are not allowed in the HELO/EHLO name"
BAD_SENDER_SYNTAX = "501 5.1.7 Control characters are not allowed in the sender address"  # RFC 3463 X.1.7
# RFC 4954 6 and RFC 3463 X.7.8: the credentials are refused; this account's
# own password opens no mail door since two-factor sign-in is on.
AUTH_APP_PASSWORD = "535 5.7.8 Two-factor sign-in is on: log in with an app password"
AUTH_NOT_ENABLED = "503 5.5.1 Authentication not enabled on this port"
TLS_ACTIVE = "503 5.5.1 TLS already active"
NO_SUCH_USER = "550 5.1.1 No such user here"
DISABLED = "550 5.2.1 Mailbox disabled"
QUOTA_NEVER = "552 5.2.2 Message exceeds the mailbox quota"
TOO_BIG = "552 5.3.4 Message size exceeds fixed maximum message size"
BAD_ADDRESS = "553 5.1.3 Bad recipient address syntax"
# RFC 6531 3.4: a UTF-8 address only in a transaction that said SMTPUTF8 on MAIL.
UTF8_SENDER = "553 5.6.7 A non-ASCII sender address needs MAIL FROM ... SMTPUTF8"
UTF8_RECIPIENT = "553 5.6.7 A non-ASCII recipient address needs MAIL FROM ... SMTPUTF8"
SENDER_NOT_OWNED = "553 5.7.1 Sender address not owned by the authenticated user"
# RFC 6409 8.1 lets a submission server refuse what it would have to fix; at
# the end of DATA the reply is 550 (there is no mailbox name to call bad).
AUTHOR_NOT_OWNED = "550 5.7.1 From: or Sender: address not owned by the authenticated user"
RELAY_DENIED = "554 5.7.1 Relay access denied"
# RFC 5321 6.3 (loop detection by counting Received: fields), RFC 3463 X.4.6 routing loop.
MAIL_LOOP = "554 5.4.6 Too many Received: fields, probably a mail loop (RFC 5321 6.3)"
# RFC 5321 2.3.8: CR and LF only as CRLF. Refusing them stops SMTP smuggling
# through us to a server that takes <LF>.<LF> or <CR>.<CR> as end of data.
BARE_LINE_ENDING = "554 5.6.0 Bare CR or LF in message data (RFC 5321 2.3.8)"

# aiosmtpd's own replies whose text we replace along with adding the code.
_REPLACED = {
    "552 Error: message size exceeds fixed maximum message size": TOO_BIG,
    "552 Error: Too much mail data": TOO_BIG,
    "500 Line too long (see RFC5321 4.5.3.1.6)": "500 5.5.6 Line too long (RFC 5321 4.5.3.1.6)",
}
# The enhanced code each basic code gets when aiosmtpd gives none (RFC 3463).
_DEFAULT_DETAIL = {
    "220": "2.0.0",
    "221": "2.0.0",
    "250": "2.0.0",
    "421": "4.3.0",
    "500": "5.5.2",
    "501": "5.5.4",
    "502": "5.5.1",
    "503": "5.5.1",
    "504": "5.5.4",
    "530": "5.7.0",
    "535": "5.7.8",
    "538": "5.7.11",
    "550": "5.0.0",
    "552": "5.3.4",
    "553": "5.1.3",
    "554": "5.0.0",
    "555": "5.5.4",
}
_HAS_DETAIL = re.compile(r"^\d{3}[ -][245]\.\d{1,3}\.\d{1,3}(?: |$)")
_REPLY = re.compile(r"^(\d{3})(?:([ -])(.*))?$", re.DOTALL)


def enhance(reply: str) -> str:
    """The reply with an enhanced status code (RFC 2034 3: every reply but the
    greeting, HELO/EHLO and the intermediate 334 and 354 carries one)."""
    if reply in _REPLACED:
        return _REPLACED[reply]
    if _HAS_DETAIL.match(reply):
        return reply
    match = _REPLY.match(reply)
    if not match or match.group(1)[0] == "3":
        return reply
    code, sep, text = match.groups()
    detail = _DEFAULT_DETAIL.get(code, f"{code[0]}.0.0")
    return f"{code}{sep or ' '}{detail} {text}" if text else f"{code}{sep or ' '}{detail}"


def filter_rejected(reason: str) -> str:
    """RFC 5429 2.1: the recipient's Sieve reject, its reason as the reply text
    (printable ASCII, one line, 200 characters at most)."""
    text = "".join(c if " " <= c <= "~" else " " for c in " ".join(reason.split()))[:200].strip()
    return f"550 5.7.1 {text or 'Message rejected by the recipient'}"
