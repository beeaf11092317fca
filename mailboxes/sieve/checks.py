"""Is this valid Sieve we can run? (RFC 5228 8.2-8.3 and each extension's
grammar.) Pure: `compile_script` parses, then checks every command and test
against one table: its positional arguments, its tags (and the extension
each needs), tags that exclude each other, whether it takes tests or a
block, and that `require` named every extension used (RFC 5228 3.2).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .errors import SieveError
from .grammar import Argument, Command, Tag, Test, parse

MAX_SCRIPT_BYTES = 64 * 1024

EXTENSIONS = (
    "fileinto",
    "reject",
    "ereject",
    "envelope",
    "encoded-character",
    "imap4flags",
    "body",
    "variables",
    "vacation",
    "vacation-seconds",
    "relational",
    "subaddress",
    "date",
    "index",
    "duplicate",
    "copy",
    "mailbox",
    "spamtest",
    "spamtestplus",
    "comparator-i;ascii-numeric",
)
COMPARATORS = {"i;octet": None, "i;ascii-casemap": None, "i;ascii-numeric": "comparator-i;ascii-numeric"}
RELATIONS = ("gt", "ge", "lt", "le", "eq", "ne")
DATE_PARTS = (
    "year",
    "month",
    "day",
    "date",
    "julian",
    "hour",
    "minute",
    "second",
    "time",
    "iso8601",
    "std11",
    "zone",
    "weekday",
)


@dataclass(frozen=True, slots=True)
class TagSpec:
    value: str = ""  # "", "string", "strings" or "number"
    extension: str | None = None


@dataclass(frozen=True, slots=True)
class Spec:
    positional: tuple[str, ...] = ()  # "string", "strings", "number"; "?" first = optional (leading)
    tags: Mapping[str, TagSpec] = field(default_factory=dict)
    extension: str | None = None
    tests: str = ""  # "", "one", "many"
    block: bool = False


def _tags(*groups: Mapping[str, TagSpec], **more: TagSpec) -> dict[str, TagSpec]:
    out: dict[str, TagSpec] = {}
    for group in groups:
        out.update(group)
    out.update(more)
    return out


_MATCH = {
    "is": TagSpec(),
    "contains": TagSpec(),
    "matches": TagSpec(),
    "value": TagSpec("string", "relational"),
    "count": TagSpec("string", "relational"),
    "comparator": TagSpec("string"),
}
_ADDRESS_PART = {
    "all": TagSpec(),
    "localpart": TagSpec(),
    "domain": TagSpec(),
    "user": TagSpec("", "subaddress"),
    "detail": TagSpec("", "subaddress"),
}
_INDEX = {"index": TagSpec("number", "index"), "last": TagSpec("", "index")}
_FLAGS = {"flags": TagSpec("strings", "imap4flags")}
_COPY = {"copy": TagSpec("", "copy")}

# Tags of which a command takes at most one (RFC 5228 2.7.1, 5231 4, 5173 5, 5230 4, 7352 3).
EXCLUSIVE = (
    frozenset({"is", "contains", "matches", "value", "count"}),
    frozenset(_ADDRESS_PART),
    frozenset({"raw", "content", "text"}),
    frozenset({"days", "seconds"}),
    frozenset({"header", "uniqueid"}),
    frozenset({"zone", "originalzone"}),
    frozenset({"over", "under"}),
)

COMMANDS: dict[str, Spec] = {
    "require": Spec(("strings",)),
    "if": Spec(tests="one", block=True),
    "elsif": Spec(tests="one", block=True),
    "else": Spec(block=True),
    "stop": Spec(),
    "keep": Spec(tags=_FLAGS),
    "discard": Spec(),
    "fileinto": Spec(("string",), _tags(_FLAGS, _COPY, create=TagSpec("", "mailbox")), "fileinto"),
    "redirect": Spec(("string",), _COPY),
    "reject": Spec(("string",), extension="reject"),
    "ereject": Spec(("string",), extension="ereject"),
    "vacation": Spec(
        ("string",),
        _tags(
            days=TagSpec("number"),
            seconds=TagSpec("number", "vacation-seconds"),
            subject=TagSpec("string"),
            **{"from": TagSpec("string")},
            addresses=TagSpec("strings"),
            mime=TagSpec(),
            handle=TagSpec("string"),
        ),
        "vacation",
    ),
    "setflag": Spec(("?string", "strings"), extension="imap4flags"),
    "addflag": Spec(("?string", "strings"), extension="imap4flags"),
    "removeflag": Spec(("?string", "strings"), extension="imap4flags"),
    "set": Spec(
        ("string", "string"),
        {name: TagSpec() for name in ("lower", "upper", "lowerfirst", "upperfirst", "quotewildcard", "length")},
        "variables",
    ),
}

TESTS: dict[str, Spec] = {
    "address": Spec(("strings", "strings"), _tags(_MATCH, _ADDRESS_PART, _INDEX)),
    "envelope": Spec(("strings", "strings"), _tags(_MATCH, _ADDRESS_PART), "envelope"),
    "header": Spec(("strings", "strings"), _tags(_MATCH, _INDEX)),
    "exists": Spec(("strings",)),
    "size": Spec(("number",), {"over": TagSpec(), "under": TagSpec()}),
    "true": Spec(),
    "false": Spec(),
    "not": Spec(tests="one"),
    "allof": Spec(tests="many"),
    "anyof": Spec(tests="many"),
    "body": Spec(("strings",), _tags(_MATCH, raw=TagSpec(), content=TagSpec("strings"), text=TagSpec()), "body"),
    "string": Spec(("strings", "strings"), _MATCH, "variables"),
    "hasflag": Spec(("?strings", "strings"), _MATCH, "imap4flags"),
    "date": Spec(
        ("string", "string", "strings"), _tags(_MATCH, _INDEX, zone=TagSpec("string"), originalzone=TagSpec()), "date"
    ),
    "currentdate": Spec(("string", "strings"), _tags(_MATCH, zone=TagSpec("string")), "date"),
    "duplicate": Spec(
        (),
        {
            "handle": TagSpec("string"),
            "header": TagSpec("string"),
            "uniqueid": TagSpec("string"),
            "seconds": TagSpec("number"),
            "last": TagSpec(),
        },
        "duplicate",
    ),
    "spamtest": Spec(("string",), _tags(_MATCH, percent=TagSpec("", "spamtestplus")), "spamtest"),
    "mailboxexists": Spec(("strings",), extension="mailbox"),
}


@dataclass(frozen=True, slots=True)
class Script:
    commands: tuple[Command, ...]
    extensions: frozenset[str]


def compile_script(text: str, *, max_bytes: int = MAX_SCRIPT_BYTES) -> Script:
    if len(text.encode("utf-8", "surrogatepass")) > max_bytes:
        raise SieveError(1, f"script larger than {max_bytes} octets")
    commands = parse(text)
    extensions: set[str] = set()
    for command in commands:
        if command.name != "require":
            break
        _check(command, COMMANDS["require"], frozenset())
        for name in _strings(command.arguments[0]):
            if name not in EXTENSIONS:
                raise SieveError(command.line, f"unsupported extension {name!r}")
            extensions.add(name)
    if "spamtestplus" in extensions:
        extensions.add("spamtest")
    _check_block(commands, frozenset(extensions), top=True)
    return Script(commands, frozenset(extensions))


def _check_block(commands: Sequence[Command], extensions: frozenset[str], *, top: bool) -> None:
    previous = ""
    seen_other = False
    for command in commands:
        spec = COMMANDS.get(command.name)
        if spec is None:
            raise SieveError(command.line, f"unknown command {command.name!r}")
        if command.name == "require" and (seen_other or not top):
            raise SieveError(command.line, "require must come before any other command")
        if command.name in ("elsif", "else") and previous not in ("if", "elsif"):
            raise SieveError(command.line, f"{command.name} without if")
        _check(command, spec, extensions)
        for test in command.tests:
            _check_test(test, extensions)
        if command.block is not None:
            _check_block(command.block, extensions, top=False)
        seen_other = seen_other or command.name != "require"
        previous = command.name


def _check_test(test: Test, extensions: frozenset[str]) -> None:
    spec = TESTS.get(test.name)
    if spec is None:
        raise SieveError(test.line, f"unknown test {test.name!r}")
    _check(test, spec, extensions)
    for inner in test.tests:
        _check_test(inner, extensions)


def _check(node: Command | Test, spec: Spec, extensions: frozenset[str]) -> None:
    where = node.line
    _need(spec.extension, extensions, where, node.name)
    tags, positional = split_arguments(node, spec)
    for group in EXCLUSIVE:
        if len(group & tags.keys()) > 1:
            raise SieveError(
                where,
                f"{node.name}: " + " and ".join(f":{t}" for t in sorted(group & tags.keys())) + " exclude each other",
            )
    for name, value in tags.items():
        _need(spec.tags[name].extension, extensions, where, f":{name}")
        if name == "comparator":
            comparator = _one(value, where)
            if comparator not in COMPARATORS:
                raise SieveError(where, f"unknown comparator {comparator!r}")
            _need(COMPARATORS[comparator], extensions, where, comparator)
        if name in ("value", "count") and _one(value, where).lower() not in RELATIONS:
            raise SieveError(where, f"unknown relation {value!r}")
    required = [kind for kind in spec.positional if not kind.startswith("?")]
    kinds = spec.positional if len(positional) > len(required) else tuple(required)
    if len(positional) != len(kinds):
        raise SieveError(where, f"{node.name} takes {len(required)} argument(s), found {len(positional)}")
    for kind, argument in zip(kinds, positional):
        _check_kind(kind.lstrip("?"), argument, where, node.name)
    if node.name == "size" and len(tags) != 1:
        raise SieveError(where, "size needs :over or :under")
    if node.name in ("date", "currentdate") and _one(positional[-2], where).lower() not in DATE_PARTS:
        raise SieveError(where, f"unknown date part {positional[-2]!r}")
    _check_shape(node, spec)


def _check_shape(node: Command | Test, spec: Spec) -> None:
    count = len(node.tests)
    if spec.tests == "one" and count != 1 or spec.tests == "" and count:
        raise SieveError(node.line, f"{node.name} takes {'one test' if spec.tests else 'no test'}")
    if spec.tests == "many" and count == 0:
        raise SieveError(node.line, f"{node.name} needs a list of tests")
    if isinstance(node, Command) and (node.block is not None) != spec.block:
        raise SieveError(node.line, f"{node.name} {'needs a block' if spec.block else 'takes no block'}")


def split_arguments(node: Command | Test, spec: Spec) -> tuple[dict[str, Argument | None], list[Argument]]:
    """Tags (with their values) and the positional arguments after them."""
    tags: dict[str, Argument | None] = {}
    positional: list[Argument] = []
    arguments = list(node.arguments)
    while arguments:
        argument = arguments.pop(0)
        if not isinstance(argument, Tag):
            positional.append(argument)
            continue
        if positional:
            raise SieveError(node.line, f"{node.name}: tag :{argument.name} after a positional argument")
        tag = spec.tags.get(argument.name)
        if tag is None:
            raise SieveError(node.line, f"{node.name} has no tag :{argument.name}")
        if argument.name in tags:
            raise SieveError(node.line, f"{node.name}: tag :{argument.name} given twice")
        if tag.value:
            if not arguments or isinstance(arguments[0], Tag):
                raise SieveError(node.line, f"{node.name}: tag :{argument.name} needs a value")
            _check_kind(tag.value, arguments[0], node.line, f":{argument.name}")
            tags[argument.name] = arguments.pop(0)
        else:
            tags[argument.name] = None
    return tags, positional


def _check_kind(kind: str, argument: Argument, line: int, what: str) -> None:
    if kind == "number" and not isinstance(argument, int) or kind != "number" and not isinstance(argument, tuple):
        raise SieveError(line, f"{what} expects a {kind.rstrip('s')}{' list' if kind == 'strings' else ''}")
    if kind == "string" and isinstance(argument, tuple) and len(argument) != 1:
        raise SieveError(line, f"{what} expects one string, not a list")


def _need(extension: str | None, extensions: frozenset[str], line: int, what: str) -> None:
    if extension is not None and extension not in extensions:
        raise SieveError(line, f'{what} needs require "{extension}"')


def _strings(argument: Argument) -> tuple[str, ...]:
    return argument if isinstance(argument, tuple) else ()


def _one(argument: Argument | None, line: int) -> str:
    if not isinstance(argument, tuple) or len(argument) != 1:
        raise SieveError(line, "expected one string")
    return argument[0]
