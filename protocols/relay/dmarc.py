"""DMARC policy discovery and identifier alignment (RFC 7489; the DNS Tree
Walk of RFC 9989 4.10 instead of a public suffix list).

parse_record and aligned are pure; discover and organizational_domain ask
the DNS through a lookup function (name -> TXT strings, None for NXDOMAIN).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

TxtLookup = Callable[[str], "list[bytes] | None"]
MAX_LABELS = 8  # RFC 9989 4.10.1: a walk starts at most 8 labels up
POLICIES = ("none", "quarantine", "reject")


@dataclass(frozen=True)
class Record:
    domain: str  # where it was found
    p: str
    sp: str
    adkim: str = "r"
    aspf: str = "r"
    psd: str = "u"  # y | n | u (RFC 9989)
    testing: bool = False  # t=y (RFC 9989), or pct=0 (RFC 7489)
    pct: int = 100
    rua: tuple[str, ...] = ()  # aggregate report URIs (RFC 7489 6.3), as written


def parse_record(domain: str, text: bytes) -> Record | None:
    """A DMARC record (tag=value; ...) or None if the text is not one (RFC 7489 6.3)."""
    try:
        decoded = text.decode("ascii")
    except UnicodeDecodeError:
        return None
    tags: dict[str, str] = {}
    for part in decoded.split(";"):
        name, sep, value = part.partition("=")
        if sep:
            tags.setdefault(name.strip().lower(), value.strip())
    if next(iter(tags), None) != "v" or tags["v"] != "DMARC1":  # v= must come first
        return None
    p = tags.get("p", "").lower()
    if p not in POLICIES:
        p = "none"  # RFC 9989 4.7: a missing or bad p acts as none
    sp = tags.get("sp", "").lower()
    return Record(
        domain=domain,
        p=p,
        sp=sp if sp in POLICIES else p,
        adkim="s" if tags.get("adkim", "r").lower() == "s" else "r",
        aspf="s" if tags.get("aspf", "r").lower() == "s" else "r",
        psd=tags.get("psd", "u").lower()[:1] or "u",
        testing=tags.get("t", "n").lower() == "y" or tags.get("pct", "100").strip() == "0",
        pct=_pct(tags.get("pct", "100")),
        rua=tuple(uri.strip() for uri in tags.get("rua", "").split(",") if uri.strip()),
    )


def _pct(value: str) -> int:
    try:
        return min(100, max(0, int(value.strip())))
    except ValueError:
        return 100


def _walk(domain: str) -> list[str]:
    """The names a Tree Walk queries, from domain towards the root."""
    labels = domain.lower().rstrip(".").split(".")
    names = [".".join(labels)]
    if len(labels) > MAX_LABELS:
        labels = labels[-(MAX_LABELS - 1) :]
        names.append(".".join(labels))
    while len(labels) > 1:
        labels = labels[1:]
        names.append(".".join(labels))
    return names


def _record_at(name: str, lookup: TxtLookup, memo: dict[str, Record | None]) -> Record | None:
    if name not in memo:
        found = [r for r in (parse_record(name, t) for t in (lookup(f"_dmarc.{name}") or [])) if r]
        memo[name] = found[0] if len(found) == 1 else None  # RFC 7489 6.6.3: several = none
    return memo[name]


def discover(domain: str, lookup: TxtLookup, memo: dict[str, Record | None] | None = None) -> Record | None:
    """The policy record that applies to the author domain."""
    memo = {} if memo is None else memo
    for name in _walk(domain):
        record = _record_at(name, lookup, memo)
        if record is not None:
            return record
    return None


def organizational_domain(domain: str, lookup: TxtLookup, memo: dict[str, Record | None] | None = None) -> str:
    """RFC 9989 4.10.2: psd=n marks the organization; psd=y marks a public
    suffix, so the organization is one label below it; else the record with
    the fewest labels; with no record at all, the domain itself."""
    memo = {} if memo is None else memo
    names = _walk(domain)
    found = [(name, r) for name in names if (r := _record_at(name, lookup, memo)) is not None]
    for name, record in found:
        if record.psd == "n":
            return name
        if record.psd == "y":
            below = [n for n in names if n.endswith("." + name) and n.count(".") == name.count(".") + 1]
            return below[0] if below else domain
    return found[-1][0] if found else domain.lower()


def aligned(
    author: str, identifier: str, mode: str, lookup: TxtLookup, memo: dict[str, Record | None] | None = None
) -> bool:
    """Identifier alignment (RFC 7489 3.1): strict = the same name; relaxed =
    the same organizational domain."""
    author, identifier = author.lower().rstrip("."), identifier.lower().rstrip(".")
    if author == identifier:
        return True
    if mode == "s":
        return False
    return organizational_domain(author, lookup, memo) == organizational_domain(identifier, lookup, memo)
