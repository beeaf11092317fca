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
    with _lock:
        cache = _caches.setdefault(resolver, OrderedDict())
        kept = cache.get(key)
        if kept is not None and kept[0] > now:
            cache.move_to_end(key)
            return kept[1]
    with _collecting() as expiries:
        result = check()
    until = min([*expiries, now + MAX_SECONDS])
    if result != "temperror" and until > time.time():
        with _lock:
            cache[key] = (until, result)
            cache.move_to_end(key)
            while len(cache) > ENTRIES:
                cache.popitem(last=False)
    return result


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
    with _lock:
        cache = _txt_caches.setdefault(resolver, OrderedDict())
        kept = cache.get(name)
        if kept is not None and kept[0] > now:
            cache.move_to_end(name)
            return None if kept[1] is None else list(kept[1])
    expiries: list[float] = []
    records = dns_answers.txt_records(resolver, name, expiries)
    until = min([*expiries, now + MAX_SECONDS]) if expiries else 0.0
    if until > time.time():
        with _lock:
            cache[name] = (until, None if records is None else list(records))
            cache.move_to_end(name)
            while len(cache) > ENTRIES:
                cache.popitem(last=False)
    return records
