"""Sieve tests (RFC 5228 5 and the extensions' tests). Each returns whether
it holds; a successful :matches sets the match variables (RFC 5229 3.2)."""

from __future__ import annotations

from email.utils import getaddresses
from typing import TYPE_CHECKING

from .actions import DuplicateMark
from .checks import TESTS, split_arguments
from .dates import date_part, header_date, parse_zone
from .grammar import Argument, Test
from .match import Matcher

if TYPE_CHECKING:
    from .interpreter import Run

_DUPLICATE_DEFAULT_SECONDS = 7 * 86400


def holds(run: Run, test: Test) -> bool:
    name = test.name
    if name in ("true", "false"):
        return name == "true"
    if name == "not":
        return not holds(run, test.tests[0])
    if name == "allof":
        return all(holds(run, inner) for inner in test.tests)
    if name == "anyof":
        return any(holds(run, inner) for inner in test.tests)
    tags, positional = split_arguments(test, TESTS[name])
    if name == "size":
        limit = positional[0] if isinstance(positional[0], int) else 0
        return run.message.size > limit if "over" in tags else run.message.size < limit
    if name == "exists":
        return all(run.message.header(field) for field in run.strings(positional[0]))
    if name == "mailboxexists":
        have = {folder.lower() if folder.lower() == "inbox" else folder for folder in run.delivery.mailboxes}
        return all((box.lower() if box.lower() == "inbox" else box) in have for box in run.strings(positional[0]))
    if name == "duplicate":
        return _duplicate(run, tags)
    return _compare(run, tags, _values(run, name, tags, positional), run.strings(positional[-1]))


def _compare(run: Run, tags: dict[str, Argument | None], values: list[str] | None, keys: list[str]) -> bool:
    if values is None:
        return False
    kind = next((t for t in ("is", "contains", "matches", "value", "count") if t in tags), "is")
    default = "i;ascii-numeric" if kind == "count" else "i;ascii-casemap"
    matcher = Matcher(
        kind=kind,
        comparator=run.string(tags["comparator"]) if "comparator" in tags else default,
        relation=run.string(tags.get(kind)) if kind in ("value", "count") else "",
    )
    found, groups = matcher.test(values, keys)
    if found and groups is not None:
        run.match_variables = groups
    return found


def _values(run: Run, name: str, tags: dict[str, Argument | None], positional: list[Argument]) -> list[str] | None:
    """The strings a test compares with its keys; None when it cannot hold."""
    message = run.message
    if name == "header":
        return _indexed(tags, [v for field in run.strings(positional[0]) for v in message.header(field)])
    if name == "address":
        headers = _indexed(tags, [v for field in run.strings(positional[0]) for v in message.header(field)])
        return _parts(tags, [address for _, address in getaddresses(headers) if address])
    if name == "envelope":
        envelope = run.delivery.envelope
        wanted = {part.lower() for part in run.strings(positional[0])}
        return _parts(
            tags, [value for part, value in (("from", envelope.sender), ("to", envelope.recipient)) if part in wanted]
        )
    if name == "body":
        return _body(run, tags)
    if name == "string":
        values = run.strings(positional[0])
        return [v for v in values if v] if "count" in tags else values
    if name == "hasflag":
        variables = run.strings(positional[0]) if len(positional) == 2 else [None]
        return [flag for variable in variables for flag in run.flag_list(variable)]
    if name in ("date", "currentdate"):
        return _date(run, name, tags, positional)
    if name == "spamtest":
        return [_spam_value(run.delivery.spam_percent, as_percent="percent" in tags)]
    raise AssertionError(name)


def _indexed(tags: dict[str, Argument | None], values: list[str]) -> list[str]:
    """RFC 5260 6: :index n [:last] picks one occurrence."""
    index = tags.get("index")
    if not isinstance(index, int):
        return values
    position = len(values) - index if "last" in tags else index - 1
    return [values[position]] if 0 <= position < len(values) else []


def _parts(tags: dict[str, Argument | None], addresses: list[str]) -> list[str] | None:
    """RFC 5228 2.7.4 address parts and RFC 5233 :user/:detail ("+" separates)."""
    out: list[str] = []
    for address in addresses:
        local, _, domain = address.rpartition("@") if "@" in address else (address, "", "")
        if "localpart" in tags:
            out.append(local)
        elif "domain" in tags:
            out.append(domain)
        elif "user" in tags:
            out.append(local.split("+", 1)[0])
        elif "detail" in tags:
            if "+" in local:  # RFC 5233 4: no separator, no detail: the test fails for it
                out.append(local.split("+", 1)[1])
        else:
            out.append(address)
    return out


def _body(run: Run, tags: dict[str, Argument | None]) -> list[str]:
    """RFC 5173 5: :raw, :content types, :text (the default)."""
    message = run.message
    if "raw" in tags:
        return [message.raw_body]
    if "content" in tags:
        types = [t.lower() for t in run.strings(tags["content"])]
        return [
            text
            for kind, text in message.text_parts
            if any(t == "" or kind == t or "/" not in t and kind.startswith(t + "/") for t in types)
        ]
    return [text for _, text in message.text_parts]


def _date(run: Run, name: str, tags: dict[str, Argument | None], positional: list[Argument]) -> list[str] | None:
    """RFC 5260 4-5: with no :zone the date is shown in the server's zone."""
    part = run.string(positional[-2])
    zone = parse_zone(run.string(tags["zone"])) if "zone" in tags else run.delivery.now.tzinfo
    if name == "currentdate":
        return [date_part(run.delivery.now.astimezone(zone), part)]
    values = _indexed(tags, run.message.header(run.string(positional[0])))
    out: list[str] = []
    for value in values:
        moment = header_date(value)
        if moment is not None:
            out.append(date_part(moment if "originalzone" in tags else moment.astimezone(zone), part))
    return out


def _spam_value(percent: int | None, *, as_percent: bool) -> str:
    """RFC 5235 3.1-3.2: "0" untested, then 1 (surely not spam) to 10; or 0-100."""
    if percent is None:
        return "0"
    percent = max(0, min(100, percent))
    return str(percent) if as_percent else str(1 + percent * 9 // 100)


def _duplicate(run: Run, tags: dict[str, Argument | None]) -> bool:
    """RFC 7352 3: the Message-ID by default; a missing field never matches."""
    if "uniqueid" in tags:
        unique = run.string(tags["uniqueid"])
    else:
        field = run.string(tags["header"]) if "header" in tags else "message-id"
        values = run.message.header(field)
        if not values:
            return False
        unique = values[0].strip()
    key = f"{run.string(tags.get('handle'))}\0{unique}"
    seconds = tags.get("seconds")
    run.duplicates.append(DuplicateMark(key, seconds if isinstance(seconds, int) else _DUPLICATE_DEFAULT_SECONDS))
    return run.delivery.seen(key)
