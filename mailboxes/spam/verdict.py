"""rspamd's answer and what Mailhost does with it. Pure: no I/O.

Actions (rspamd's metric actions) map to one of four outcomes:

| rspamd action                 | outcome  | SMTP at DATA / where it goes          |
|-------------------------------|----------|---------------------------------------|
| reject                        | reject   | 550 5.7.1 with rspamd's SMTP message  |
| soft reject, greylist         | defer    | 451 4.7.1                             |
| add header, rewrite subject   | junk     | 250, each recipient's Junk folder     |
| no action                     | inbox    | 250, INBOX                            |

Every copy stored in a local mailbox carries our X-Spam-* fields; fields of
that name that came with the message are removed first, so a sender cannot
pass off a verdict of its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

OUTCOMES = {
    "reject": "reject",
    "soft reject": "defer",
    "greylist": "defer",
    "add header": "junk",
    "rewrite subject": "junk",
    "no action": "inbox",
}
MAX_SYMBOLS_IN_HEADER = 30
_UNSAFE_TEXT = re.compile(r"[^\x20-\x7e]")


@dataclass(frozen=True)
class Verdict:
    action: str
    score: float
    required: float  # the reject threshold that applied
    symbols: tuple[str, ...]
    smtp_message: str = ""

    @property
    def outcome(self) -> str:
        """reject, defer, junk or inbox (an action we do not know is treated as inbox)."""
        return OUTCOMES.get(self.action, "inbox")

    def reply_text(self, default: str) -> str:
        """rspamd's message for the client: printable ASCII, one line, short."""
        text = _UNSAFE_TEXT.sub(" ", self.smtp_message).strip()[:200]
        return text or default


def parse(answer: dict) -> Verdict:
    """A Verdict from /checkv2's JSON. Raises ValueError on an answer without an action."""
    action = answer.get("action")
    if not isinstance(action, str):
        raise ValueError("rspamd's answer has no action")
    symbols = answer.get("symbols") or {}
    messages = answer.get("messages") or {}
    return Verdict(
        action=action,
        score=float(answer.get("score") or 0.0),
        required=float(answer.get("required_score") or 0.0),
        symbols=tuple(sorted(symbols)) if isinstance(symbols, dict) else (),
        smtp_message=str(messages.get("smtp_message", "")) if isinstance(messages, dict) else "",
    )


def header_fields(verdict: Verdict | None) -> bytes:
    """Our X-Spam-* fields for a stored copy; None: the scan could not be made."""
    if verdict is None:
        return b"X-Spam-Status: unchecked\r\n"
    spam = verdict.outcome in ("junk", "reject")
    symbols = ", ".join(verdict.symbols[:MAX_SYMBOLS_IN_HEADER])
    lines = [
        f"X-Spam-Status: {'Yes' if spam else 'No'}, score={verdict.score:.2f} "
        f"required={verdict.required:.2f} action={verdict.action}",
        f"X-Spam-Score: {verdict.score:.2f}",
    ]
    if spam:
        lines.append("X-Spam-Flag: YES")
    if symbols:
        lines.append(_fold("X-Spam-Symbols: " + symbols))
    return "".join(line + "\r\n" for line in lines).encode("ascii", "replace")


def _fold(text: str, width: int = 76) -> str:
    """Fold a field at its spaces, lines of at most width characters (RFC 5322 2.2.3)."""
    out, line = [], ""
    for word in text.split(" "):
        if line and len(line) + 1 + len(word) > width:
            out.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    out.append(line)
    return "\r\n\t".join(out)


def strip_spam_fields(data: bytes) -> bytes:
    """data without header fields named X-Spam-* (with their folded lines);
    the body is left alone."""
    end = data.find(b"\r\n\r\n")
    head, body = (data, b"") if end < 0 else (data[: end + 2], data[end + 2 :])
    if b"x-spam-" not in head.lower():
        return data
    kept: list[bytes] = []
    dropping = False
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t"):
            if not dropping:
                kept.append(line)
            continue
        dropping = line[:7].lower() == b"x-spam-"
        if not dropping:
            kept.append(line)
    return b"\r\n".join(kept) + body
