"""The per-recipient reports of a delivery status notification (RFC 3464)
that came back to us. Pure: bytes in, values out."""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass
from email.message import Message

MAX_REPORTS = 100
_STATUS = re.compile(r"^[245]\.\d{1,3}\.\d{1,3}$")


@dataclass(frozen=True)
class RecipientReport:
    address: str  # Final-Recipient (or Original-Recipient), rfc822 type, without the type
    action: str  # failed delayed delivered relayed expanded
    status: str  # 5.1.1
    diagnostic: str  # Diagnostic-Code, without its type


def _address(value: str | None) -> str:
    kind, _, address = (value or "").partition(";")
    return address.strip().strip("<>").lower() if kind.strip().lower() == "rfc822" else ""


def _typed(value: str | None) -> str:
    text = " ".join((value or "").split())
    return text.partition(";")[2].strip() if ";" in text else text


def reports(data: bytes) -> list[RecipientReport]:
    """The recipient blocks of the message's message/delivery-status part; []
    when it is not a DSN."""
    message = email.message_from_bytes(data, policy=email.policy.compat32)
    out: list[RecipientReport] = []
    for part in message.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        blocks = part.get_payload()
        if not isinstance(blocks, list):
            continue
        for block in blocks[1 : MAX_REPORTS + 1]:  # the first block is per message (RFC 3464 2.2)
            if not isinstance(block, Message):
                continue
            address = _address(block.get("Final-Recipient")) or _address(block.get("Original-Recipient"))
            action = (block.get("Action") or "").strip().lower()
            status = (block.get("Status") or "").strip().split(" ")[0]
            if address and action and _STATUS.match(status):
                out.append(RecipientReport(address, action[:16], status, _typed(block.get("Diagnostic-Code"))[:500]))
        break
    return out
