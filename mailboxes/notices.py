"""Messages the host writes itself: delivery status notifications (RFC 3464)
and quota warnings. Pure: values in, bytes out; no I/O, no Django.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime

# RFC 3463 enhanced status code, as it opens an SMTP reply text (RFC 2034 4).
_ENHANCED = re.compile(r"^([245])\.(\d{1,3})\.(\d{1,3})\b")
MAX_HEADER_BYTES = 64 * 1024


@dataclass(frozen=True)
class Failure:
    """One recipient that will never get the message (or, in a delay notice,
    has not got it yet)."""

    address: str
    status: str  # RFC 3463, e.g. "5.1.1"
    diagnostic: str  # RFC 3464 2.3.6, e.g. "smtp; 550 5.1.1 no such user"
    remote_mta: str = ""  # host name of the server that refused, if any
    orcpt: str = ""  # the sender's ORCPT, "addr-type;address" (RFC 3461 4.2)


# RFC 3464 2.3.3 Action values, each with its report's subject and what it says.
FAILED, DELAYED, RELAYED, DELIVERED, EXPANDED = "failed", "delayed", "relayed", "delivered", "expanded"
_SUBJECTS = {
    FAILED: "Undelivered Mail Returned to Sender",
    DELAYED: "Delayed Mail (still being retried)",
    RELAYED: "Successful Mail Delivery Report (relayed)",
    DELIVERED: "Successful Mail Delivery Report",
    EXPANDED: "Successful Mail Delivery Report (expanded)",
}


def status_from_reply(code: int, text: str) -> str:
    """The RFC 3463 status of an SMTP reply: its enhanced code when it gives
    one whose class agrees with the reply code, else the class with .0.0."""
    match = _ENHANCED.match(text.strip())
    if match and match.group(1) == str(code)[0]:
        return ".".join(match.groups())
    return f"{str(code)[0]}.0.0" if 200 <= code < 600 else "4.0.0"


def _crlf(text: str) -> bytes:
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")


def _date(when: datetime) -> str:
    return format_datetime(when.astimezone(UTC))


def _header_value(text: str) -> str:
    """Keep header values on one line (no header injection from addresses or replies)."""
    return re.sub(r"[\r\n\t]+", " ", text).strip()


def build_dsn(
    *,
    hostname: str,
    mail_from: str,
    original_headers: bytes,
    failures: list[Failure],
    arrival: datetime,
    now: datetime,
    retry_until: datetime | None = None,
    action: str = "",
    envid: str = "",
    full_message: bytes | None = None,
) -> bytes:
    """An RFC 3464 multipart/report to mail_from about the recipients in
    `failures`, returning the original header block as text/rfc822-headers
    (RFC 3462), or the whole message as message/rfc822 when full_message is
    given (RET=FULL, RFC 3461 4.3).

    action (RFC 3464 2.3.3), by default FAILED, or DELAYED with retry_until:
    FAILED; DELAYED, the recipients still being
    tried until retry_until (Will-Retry-Until, 2.3.9) with their last
    temporary status; RELAYED, handed to a host that does not report
    (RFC 3461 5.2.2); DELIVERED, stored in a mailbox here; EXPANDED, taken
    by an alias here that passes it on to several recipients (not a terminal
    state: they may be reported on later, RFC 3461 6.2.7.3). envid is the
    sender's ENVID (Original-Envelope-Id, 2.2.1); each recipient's ORCPT
    becomes its Original-Recipient (2.3.1)."""
    action = action or (FAILED if retry_until is None else DELAYED)
    boundary = f"=_mailhost-dsn-{secrets.token_hex(12)}"
    lines = "\n".join(f"  <{f.address}>: {f.diagnostic.partition(';')[2].strip() or f.status}" for f in failures)
    subject = _SUBJECTS[action]
    if action == FAILED:
        human = (
            "Your message could not be delivered to one or more recipients.\n"
            "It has been returned with the original headers below.\n\n"
            f"{lines}\n"
        )
    elif action == DELAYED:
        human = (
            "Your message could not be delivered to one or more recipients yet.\n"
            f"The mail system will keep trying until {_date(retry_until or now)}.\n"
            "You need not send it again; you will be told if it finally fails.\n\n"
            f"{lines}\n"
        )
    elif action == RELAYED:
        human = (
            "Your message was handed on to the next mail system for these recipients,\n"
            "which will not report further on its delivery:\n\n"
            f"{lines}\n"
        )
    elif action == EXPANDED:
        human = (
            "Your message was delivered to these addresses, which pass it on to\n"
            "several recipients; you may hear further about some of them:\n\n"
            f"{lines}\n"
        )
    else:
        human = f"Your message was delivered to these recipients:\n\n{lines}\n"
    per_message = (
        f"Reporting-MTA: dns; {hostname}\n"
        + (f"Original-Envelope-Id: {_header_value(envid)}\n" if envid else "")
        + f"Arrival-Date: {_date(arrival)}\n"
    )
    per_recipient = []
    for f in failures:
        block = f"Original-Recipient: {_header_value(f.orcpt)}\n" if f.orcpt else ""
        block += f"Final-Recipient: rfc822; {_header_value(f.address)}\nAction: {action}\nStatus: {f.status}\n"
        if f.remote_mta:
            block += f"Remote-MTA: dns; {_header_value(f.remote_mta)}\n"
        if f.diagnostic:
            block += f"Diagnostic-Code: {_header_value(f.diagnostic)}\n"
        block += f"Last-Attempt-Date: {_date(now)}\n"
        if action == DELAYED and retry_until is not None:
            block += f"Will-Retry-Until: {_date(retry_until)}\n"
        per_recipient.append(block)
    status = per_message + "\n" + "\n".join(per_recipient)
    if full_message is not None:
        returned_type, returned = "message/rfc822", full_message
    else:
        returned_type, returned = "text/rfc822-headers", original_headers[:MAX_HEADER_BYTES].rstrip(b"\r\n")
    returned = returned.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    head = (
        f"From: Mail Delivery System <MAILER-DAEMON@{hostname}>\n"
        f"To: <{_header_value(mail_from)}>\n"
        f"Subject: {subject}\n"
        f"Date: {_date(now)}\n"
        f"Message-ID: <{secrets.token_hex(16)}@{hostname}>\n"
        "Auto-Submitted: auto-replied\n"  # RFC 3834 5
        "MIME-Version: 1.0\n"
        f'Content-Type: multipart/report; report-type=delivery-status;\n boundary="{boundary}"\n\n'
        "This is a MIME-encapsulated delivery status notification.\n"
    )
    return b"".join(
        [
            _crlf(head),
            _crlf(
                f"\n--{boundary}\nContent-Type: text/plain; charset=utf-8\n"
                f"Content-Description: Notification\n\nThis is the mail system at {hostname}.\n\n{human}"
            ),
            _crlf(
                f"\n--{boundary}\nContent-Type: message/delivery-status\n"
                f"Content-Description: Delivery report\n\n{status}"
            ),
            _crlf(
                f"\n--{boundary}\nContent-Type: {returned_type}\n"
                f"Content-Description: {'Undelivered' if action == FAILED else 'Original'} message"
                f"{'' if full_message is not None else ' headers'}\n\n"
            ),
            returned,
            b"" if returned.endswith(b"\r\n") else b"\r\n",
            _crlf(f"\n--{boundary}--\n"),
        ]
    )


def build_quota_warning(*, hostname: str, address: str, percent: int, used: int, limit: int, now: datetime) -> bytes:
    """A short note to the account itself that its mailbox is filling up."""
    mib = 1024 * 1024
    text = (
        f"From: Mail System <postmaster@{hostname}>\n"
        f"To: <{_header_value(address)}>\n"
        f"Subject: Your mailbox is {percent}% full\n"
        f"Date: {_date(now)}\n"
        f"Message-ID: <{secrets.token_hex(16)}@{hostname}>\n"
        "Auto-Submitted: auto-generated\n"
        "MIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=utf-8\n\n"
        f"Your mailbox {address} uses {used / mib:.1f} MiB of its {limit / mib:.1f} MiB quota "
        f"({used * 100 // max(limit, 1)}%).\n\n"
        "When it is full, new mail is refused. Delete old messages, or empty Trash and Junk,\n"
        "to make room.\n"
    )
    return _crlf(text)
