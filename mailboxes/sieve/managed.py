"""The webmail's vacation reply and forwarding as Sieve: a managed section of
the account's active script (issue #20: one mechanism). Pure: text in, text
out; the store decides when to read and write the script.

The section sits between two marker comments, after the script's own
`require` commands (RFC 5228 3.2: require comes before any other command)
and before its first other command, so the user's rules around it stay as
they are and cannot `stop` before it runs; a ManageSieve client sees it as
ordinary, readable Sieve:

    # BEGIN vacation and forwarding (the webmail's Settings page writes this part)
    require ["vacation", "copy"];
    vacation :days 7 :subject "Away" "I am away until Monday.";
    redirect :copy "me@elsewhere.example";
    # END vacation and forwarding

A vacation reply that is off keeps its text inside `if false { ... }`, so
turning it on again later finds it; forwarding without a kept copy is
`redirect` without `:copy` (the implicit keep is cancelled, RFC 5228 4.2).

store.get_preferences/save_preferences (mailboxes/store/preferences.py)
read and splice it; migration 0015 wrote the old settings with it."""

from __future__ import annotations

from dataclasses import dataclass

from .builder import quote
from .checks import compile_script
from .errors import SieveError
from .grammar import Command, Tag

BEGIN = "# BEGIN vacation and forwarding (the webmail's Settings page writes this part)"
END = "# END vacation and forwarding"


@dataclass(frozen=True)
class Settings:
    vacation_enabled: bool = False
    vacation_subject: str = ""
    vacation_body: str = ""
    vacation_days: int = 7
    forward_to: str = ""
    forward_keep_copy: bool = True


def section(settings: Settings) -> str:
    """The managed section for these settings; "" when they say nothing
    (no vacation text and no forwarding)."""
    vacation = settings.vacation_enabled or bool(settings.vacation_body.strip())
    if not vacation and not settings.forward_to:
        return ""
    needs = (["vacation"] if vacation else []) + (
        ["copy"] if settings.forward_to and settings.forward_keep_copy else []
    )
    lines = [BEGIN] + ([f"require [{', '.join(quote(n) for n in needs)}];"] if needs else [])
    if vacation:
        subject = f" :subject {quote(settings.vacation_subject)}" if settings.vacation_subject else ""
        command = f"vacation :days {settings.vacation_days}{subject} {quote(settings.vacation_body)};"
        lines.append(command if settings.vacation_enabled else f"if false {{ {command} }}")
    if settings.forward_to:
        lines.append(f"redirect{' :copy' if settings.forward_keep_copy else ''} {quote(settings.forward_to)};")
    return "\n".join(lines + [END]) + "\n"


def _bounds(script: str) -> tuple[int, int] | None:
    """Offsets of the managed section (its markers' lines included), if any."""
    start = script.find(BEGIN + "\n")
    if start < 0 or (start > 0 and script[start - 1] != "\n"):
        return None
    end = script.find("\n" + END, start)
    if end < 0:
        return None
    stop = script.find("\n", end + 1)
    return start, len(script) if stop < 0 else stop + 1


def without_section(script: str) -> str:
    bounds = _bounds(script)
    return script if bounds is None else script[: bounds[0]] + script[bounds[1] :]


def with_section(script: str, managed: str) -> str:
    """The script with `managed` in place of its managed section, after its
    own require commands. The script must be valid Sieve (SieveError)."""
    rest = without_section(script)
    if not managed:
        return rest
    lines = rest.split("\n")
    commands = compile_script(rest).commands if rest.strip() else ()
    first = next((c.line for c in commands if c.name != "require"), None)
    if first is None:  # only requires and comments: the section goes at the end
        head, tail = rest, ""
        if head and not head.endswith("\n"):
            head += "\n"
    else:
        head, tail = "\n".join(lines[: first - 1]), "\n".join(lines[first - 1 :])
        head = head + "\n" if head else ""
    return head + managed + tail


def read(script: str) -> Settings:
    """The settings the script's managed section says (defaults without one)."""
    bounds = _bounds(script)
    if bounds is None:
        return Settings()
    try:
        commands = compile_script(script[bounds[0] : bounds[1]]).commands
    except SieveError:  # edited by hand into something else: the page starts from nothing
        return Settings()
    found: dict[str, object] = {}
    for command in commands:
        if command.name == "if" and [t.name for t in command.tests] == ["false"] and command.block:
            found.update(_vacation(command.block[0], enabled=False))
        elif command.name == "vacation":
            found.update(_vacation(command, enabled=True))
        elif command.name == "redirect":
            found.update(forward_to=_last_string(command), forward_keep_copy=Tag("copy") in command.arguments)
    return Settings(**found)  # type: ignore[arg-type]


def _vacation(command: Command, *, enabled: bool) -> dict[str, object]:
    if command.name != "vacation":
        return {}
    args = list(command.arguments)
    out: dict[str, object] = {"vacation_enabled": enabled, "vacation_body": _last_string(command)}
    for tag, value in zip(args, args[1:]):
        if tag == Tag("days") and isinstance(value, int):
            out["vacation_days"] = value
        elif tag == Tag("subject") and isinstance(value, tuple):
            out["vacation_subject"] = value[0]
    return out


def _last_string(command: Command) -> str:
    value = command.arguments[-1] if command.arguments else ()
    return value[0] if isinstance(value, tuple) and value else ""
