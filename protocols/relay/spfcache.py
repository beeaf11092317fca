"""SPF verdicts kept for as long as the DNS answers they rest on.

Every message from one sending host asks pyspf the same questions (the
sender's SPF record, the HELO name's), and pyspf works through each record
again even when every answer comes from the resolver's cache. So a verdict
(RFC 7208 2.6) is kept per resolver and (client address, sender, HELO name)
until the earliest expiry of the answers it used: a positive answer's TTL,
a negative one's from its SOA (RFC 2308 5; a negative answer without an SOA
may not be cached, and neither is the verdict), at most MAX_SECONDS. A
temperror is never kept: the next message asks again. The cache is a
bounded LRU shared by the check threads; the resolver changes (tests,
MAIL_DNS_NAMESERVERS) start a fresh one. DMARC's TXT answers (txt()) are
kept the same way, per resolver and name.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

import dns.resolver

from mailboxes import dns as dns_answers

ENTRIES = 10_000
MAX_SECONDS = 3600.0
Key = tuple[str, str, str]  # client address, MAIL FROM (or postmaster@HELO), HELO name

_expiries: contextvars.ContextVar[list[float] | None] = contextvars.ContextVar("spf_expiries", default=None)
_caches: weakref.WeakKeyDictionary[dns.resolver.Resolver, OrderedDict[Key, tuple[float, str]]] = (
    weakref.WeakKeyDictionary()
)
_txt_caches: weakref.WeakKeyDictionary[dns.resolver.Resolver, OrderedDict[str, tuple[float, list[bytes] | None]]] = (
    weakref.WeakKeyDictionary()
)
_lock = threading.Lock()


def noted(expiry: float) -> None:
    """A DNS answer the check in progress used expires at this time.time()."""
    expiries = _expiries.get()
    if expiries is not None:
        expiries.append(expiry)


def answer_expiry(answer: dns.resolver.Answer) -> float:
    return float(answer.expiration)


negative_expiry = dns_answers.negative_expiry


def verdict(resolver: dns.resolver.Resolver, key: Key, check: Callable[[], str]) -> str:
    """check()'s result, or the one kept for key while its answers last."""
    now = time.time()
    found, kept = _kept(_caches, resolver, key, now)
    if found:
        return kept
    with _collecting() as expiries:
        result = check()
    if result != "temperror":
        _keep(_caches, resolver, key, min([*expiries, now + MAX_SECONDS]), result)
    return result


def _kept(caches: weakref.WeakKeyDictionary, resolver: dns.resolver.Resolver, key: Any, now: float) -> tuple[bool, Any]:
    """(True, value) if the resolver's cache keeps key past now, else (False, None)."""
    with _lock:
        cache = caches.setdefault(resolver, OrderedDict())
        kept = cache.get(key)
        if kept is None or kept[0] <= now:
            return False, None
        cache.move_to_end(key)
        return True, kept[1]


def _keep(
    caches: weakref.WeakKeyDictionary, resolver: dns.resolver.Resolver, key: Any, until: float, value: Any
) -> None:
    """Keep value for key until then (if that is still to come), the least recently used first out."""
    if until <= time.time():
        return
    with _lock:
        cache = caches.setdefault(resolver, OrderedDict())
        cache[key] = (until, value)
        cache.move_to_end(key)
        while len(cache) > ENTRIES:
            cache.popitem(last=False)


@contextlib.contextmanager
def _collecting() -> Iterator[list[float]]:
    expiries: list[float] = []
    token = _expiries.set(expiries)
    try:
        yield expiries
    finally:
        _expiries.reset(token)


def txt(resolver: dns.resolver.Resolver, name: str) -> list[bytes] | None:
    """mailboxes.dns.txt_records(resolver, name), kept while its answer lasts
    (at most MAX_SECONDS): DMARC asks the same names (_dmarc.<author domain>
    and its organizational domain's) of every message from one domain, and
    the resolver's own cache costs more to ask than this. A resolver without
    a cache (a check that must see a record just published) is always asked."""
    if resolver.cache is None:
        return dns_answers.txt_records(resolver, name)
    now = time.time()
    found, kept = _kept(_txt_caches, resolver, name, now)
    if found:
        return None if kept is None else list(kept)
    expiries: list[float] = []
    records = dns_answers.txt_records(resolver, name, expiries)
    if expiries:
        _keep(
            _txt_caches, resolver, name, min([*expiries, now + MAX_SECONDS]), None if records is None else list(records)
        )
    return records
