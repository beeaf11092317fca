"""The two ways a Sieve script fails: refused before it is stored (with its
line, RFC 5804 2.6's "errors with line numbers") or failing while it runs
(RFC 5228 2.10.6: the message is then kept, the implicit keep)."""

from __future__ import annotations


class SieveError(Exception):
    """A script that is not valid Sieve; `line` is 1-based."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


class SieveRuntimeError(Exception):
    """A valid script that cannot be carried out for this message (too many
    actions, reject beside fileinto, ...). The text is for the owner, never
    for the sender."""
