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
MAIL_DNS_NAMESERVERS) start a fresh one.
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

import dns.rdatatype
import dns.resolver

ENTRIES = 10_000
MAX_SECONDS = 3600.0
Key = tuple[str, str, str]  # client address, MAIL FROM (or postmaster@HELO), HELO name

_expiries: contextvars.ContextVar[list[float] | None] = contextvars.ContextVar("spf_expiries", default=None)
_caches: weakref.WeakKeyDictionary[dns.resolver.Resolver, OrderedDict[Key, tuple[float, str]]] = (
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


def negative_expiry(error: dns.resolver.NXDOMAIN | dns.resolver.NoAnswer) -> float:
    """When a negative answer may be forgotten: its SOA's TTL (RFC 2308 5),
    or now (not kept) without one."""
    if isinstance(error, dns.resolver.NXDOMAIN):
        response: Any = next(iter(error.kwargs.get("responses", {}).values()), None)
    else:
        response = error.kwargs.get("response")
    if response is None or not any(rrset.rdtype == dns.rdatatype.SOA for rrset in response.authority):
        return 0.0
    return time.time() + response.resolve_chaining().minimum_ttl


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
