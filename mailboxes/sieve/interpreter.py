"""Running a checked script against one message (RFC 5228 2.10, 3, 4).

Pure: `evaluate` takes the script, the message and the delivery's facts and
returns the actions; the store carries them out. Variables (RFC 5229),
imap4flags' internal flag variable (RFC 5232 3), encoded characters
(RFC 5228 2.4.2.4) and the limits on actions and redirects live here; the
tests are in `conditions.py`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

from . import conditions
from .actions import Action, Discard, DuplicateMark, FileInto, Keep, Outcome, Redirect, Reject, Vacation
from .checks import COMMANDS, Script, split_arguments
from .errors import SieveRuntimeError
from .grammar import Argument, Command
from .match import quote_wildcards
from .message import Delivery, SieveMessage

_ENCODED = re.compile(r"\$\{(hex|unicode):([0-9a-fA-F \t\r\n]*)\}", re.IGNORECASE)
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_.]*|[0-9]+)\}")
_ADDRESS = re.compile(r"[^@\s<>]+@[^@\s<>]+")
_FLAGS_VARIABLE = "\0flags"  # RFC 5232 3: the internal variable, out of reach of ${...}
_DAY = 86400


class _Stop(Exception):
    pass


def evaluate(script: Script, message: SieveMessage, delivery: Delivery) -> Outcome:
    run = Run(script, message, delivery)
    try:
        run.block(script.commands)
    except _Stop:
        pass
    return run.outcome()


class Run:
    def __init__(self, script: Script, message: SieveMessage, delivery: Delivery) -> None:
        self.extensions = script.extensions
        self.message = message
        self.delivery = delivery
        self.variables: dict[str, str] = {_FLAGS_VARIABLE: ""}
        self.match_variables: tuple[str, ...] = ()
        self.actions: list[Action] = []
        self.implicit_keep = True
        self.duplicates: list[DuplicateMark] = []

    def outcome(self) -> Outcome:
        actions = list(self.actions)
        if self.implicit_keep:
            actions.insert(0, Keep(flags=self.flag_list(None), implicit=True))
        return Outcome(tuple(actions), tuple(self.duplicates))

    # strings -------------------------------------------------------------

    def expand(self, text: str) -> str:
        if "encoded-character" in self.extensions:
            text = _ENCODED.sub(_decode_encoded, text)
        if "variables" in self.extensions:
            text = _VARIABLE.sub(self._variable, text)
        return text

    def strings(self, argument: Argument | None) -> list[str]:
        return [self.expand(text) for text in argument] if isinstance(argument, tuple) else []

    def string(self, argument: Argument | None) -> str:
        values = self.strings(argument)
        return values[0] if values else ""

    def _variable(self, found: re.Match[str]) -> str:
        name = found.group(1)
        if name.isdigit():
            index = int(name)
            return self.match_variables[index] if index < len(self.match_variables) else ""
        return self.variables.get(name.lower(), "")

    def set_variable(self, name: str, value: str) -> None:
        self.variables[name.lower()] = value[: self.delivery.limits.max_variable_length]

    def flag_list(self, variable: str | None) -> tuple[str, ...]:
        return tuple(self.variables.get(_FLAGS_VARIABLE if variable is None else variable.lower(), "").split())

    # commands ------------------------------------------------------------

    def block(self, commands: Sequence[Command]) -> None:
        taken = False
        for command in commands:
            if command.name == "if":
                taken = conditions.holds(self, command.tests[0])
                if taken:
                    self.block(command.block or ())
            elif command.name == "elsif":
                if not taken and conditions.holds(self, command.tests[0]):
                    taken = True
                    self.block(command.block or ())
            elif command.name == "else":
                if not taken:
                    self.block(command.block or ())
            else:
                self.command(command)

    def command(self, command: Command) -> None:
        tags, positional = split_arguments(command, COMMANDS[command.name])
        name = command.name
        if name == "require":
            return
        if name == "stop":
            raise _Stop
        if name in ("setflag", "addflag", "removeflag"):
            self.change_flags(name, positional)
        elif name == "set":
            self.set_variable(self.string(positional[0]), _modified(self.string(positional[1]), tags))
        elif name == "keep":
            self.add(Keep(flags=self.flags_for(tags)))
        elif name == "discard":
            self.add(Discard())
        elif name == "fileinto":
            self.add(
                FileInto(mailbox=self.string(positional[0]), flags=self.flags_for(tags), create="create" in tags),
                keeps="copy" in tags,
            )
        elif name == "redirect":
            self.redirect(self.string(positional[0]), copy="copy" in tags)
        elif name in ("reject", "ereject"):
            self.add(Reject(reason=self.string(positional[0]), extended=name == "ereject"))
        elif name == "vacation":
            self.vacation(tags, self.string(positional[0]))

    def add(self, action: Action, *, keeps: bool = False) -> None:
        limit = self.delivery.limits.max_actions
        if len(self.actions) >= limit:
            raise SieveRuntimeError(f"more than {limit} actions")
        rejecting = any(isinstance(a, Reject) for a in self.actions)
        if rejecting or isinstance(action, Reject) and any(not isinstance(a, Discard) for a in self.actions):
            raise SieveRuntimeError("reject cannot be combined with other actions (RFC 5429 2.1)")
        if isinstance(action, Vacation) and any(isinstance(a, Vacation) for a in self.actions):
            raise SieveRuntimeError("more than one vacation action (RFC 5230 4.7)")
        if action not in self.actions:  # RFC 5228 2.10.3: the same keep/fileinto twice is done once
            self.actions.append(action)
        if not keeps:
            self.implicit_keep = False

    def redirect(self, address: str, *, copy: bool) -> None:
        if _ADDRESS.fullmatch(address.strip()) is None:
            raise SieveRuntimeError(f"redirect to an invalid address {address!r}")
        limit = self.delivery.limits.max_redirects
        if sum(isinstance(a, Redirect) for a in self.actions) >= limit:
            raise SieveRuntimeError(f"more than {limit} redirects")
        self.add(Redirect(address=address.strip(), copy=copy), keeps=copy)

    def flags_for(self, tags: dict[str, Argument | None]) -> tuple[str, ...]:
        if "flags" in tags:
            return tuple(_split_flags(self.strings(tags["flags"])))
        return self.flag_list(None)

    def change_flags(self, name: str, positional: list[Argument]) -> None:
        variable = self.string(positional[0]).lower() if len(positional) == 2 else _FLAGS_VARIABLE
        given = _split_flags(self.strings(positional[-1]))
        current = list(self.variables.get(variable, "").split()) if name != "setflag" else []
        if name == "removeflag":
            drop = {flag.lower() for flag in given}
            current = [flag for flag in current if flag.lower() not in drop]
        else:
            for flag in given:
                if flag.lower() not in {have.lower() for have in current}:
                    current.append(flag)
        self.variables[variable] = " ".join(current)

    def vacation(self, tags: dict[str, Argument | None], reason: str) -> None:
        if "seconds" in tags:
            seconds = tags["seconds"] if isinstance(tags["seconds"], int) else 0
        else:
            days = tags.get("days", 7)
            seconds = max(1, days if isinstance(days, int) else 7) * _DAY  # RFC 5230 4.1: at least one day
        subject = self.string(tags["subject"]) if "subject" in tags else None
        from_address = self.string(tags["from"]) if "from" in tags else None
        handle = (
            self.string(tags["handle"])
            if "handle" in tags
            else hashlib.sha256(
                "\0".join([reason, subject or "", from_address or "", str("mime" in tags)]).encode()
            ).hexdigest()[:32]
        )
        self.add(
            Vacation(
                reason=reason,
                subject=subject,
                from_address=from_address,
                addresses=tuple(self.strings(tags.get("addresses"))),
                seconds=seconds,
                handle=handle,
                mime="mime" in tags,
            ),
            keeps=True,
        )


def _split_flags(values: list[str]) -> list[str]:
    out: list[str] = []
    for value in values:
        for flag in value.split():
            if flag.lower() not in {have.lower() for have in out}:
                out.append(flag)
    return out


def _modified(value: str, tags: dict[str, Argument | None]) -> str:
    """RFC 5229 4.1: modifiers apply from the highest precedence down."""
    if "lower" in tags:
        value = value.lower()
    if "upper" in tags:
        value = value.upper()
    if "lowerfirst" in tags:
        value = value[:1].lower() + value[1:]
    if "upperfirst" in tags:
        value = value[:1].upper() + value[1:]
    if "quotewildcard" in tags:
        value = quote_wildcards(value)
    if "length" in tags:
        value = str(len(value))
    return value


def _decode_encoded(found: re.Match[str]) -> str:
    """RFC 5228 2.4.2.4; an invalid sequence stays as it was written."""
    units = found.group(2).split()
    try:
        if found.group(1).lower() == "hex":
            return bytes(int(unit, 16) for unit in units).decode("utf-8")
        return "".join(chr(int(unit, 16)) for unit in units)
    except (ValueError, UnicodeDecodeError, OverflowError):
        return found.group(0)
