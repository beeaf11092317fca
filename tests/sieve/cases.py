"""Shared helpers for the Sieve tables: a message from header lines and a
readable one-line form of each action."""

from __future__ import annotations

from datetime import UTC, datetime

from mailboxes import sieve

NOW = datetime(2026, 12, 7, 10, 30, tzinfo=UTC)


def message(*headers: str, body: str = "Hello.\r\n") -> bytes:
    return ("\r\n".join(headers) + "\r\n\r\n" + body).encode()


def describe(action: sieve.Action) -> str:
    flags = (
        f" flags={' '.join(action.flags)}" if isinstance(action, (sieve.Keep, sieve.FileInto)) and action.flags else ""
    )
    if isinstance(action, sieve.Keep):
        return ("implicit keep" if action.implicit else "keep") + flags
    if isinstance(action, sieve.FileInto):
        return f"fileinto{' :create' if action.create else ''} {action.mailbox}{flags}"
    if isinstance(action, sieve.Redirect):
        return f"redirect{' :copy' if action.copy else ''} {action.address}"
    if isinstance(action, sieve.Discard):
        return "discard"
    if isinstance(action, sieve.Reject):
        return f"{'ereject' if action.extended else 'reject'} {action.reason}"
    return f"vacation {action.seconds}s subject={action.subject} from={action.from_address} {action.reason}"


def run(
    script: str, raw: bytes, *, sender: str = "sender@example.org", recipient: str = "me@example.com", **facts: object
) -> list[str]:
    compiled = sieve.compile_script(script)
    delivery = sieve.Delivery(envelope=sieve.Envelope(sender=sender, recipient=recipient), now=NOW, **facts)  # type: ignore[arg-type]
    outcome = sieve.evaluate(compiled, sieve.from_bytes(raw), delivery)
    return [describe(action) for action in outcome.actions]


def assert_case(case: tuple) -> None:  # type: ignore[type-arg]
    """(name, script, message, expected actions[, envelope and delivery facts])."""
    _, script, raw, expected, *facts = case
    assert run(script, raw, **(facts[0] if facts else {})) == expected
