"""SPF verdicts are kept while the DNS answers they rest on last
(protocols/relay/spfcache.py): the same question from the same host is not
worked through again, a changed record counts once its TTL is over, and a
temporary failure is never kept."""

from __future__ import annotations

import time

from protocols.relay import authcheck

from .helpers import DnsServer, txt

GOOD_IP = "192.0.2.10"
RAW = b"From: bob@sender.test\r\nTo: alice@example.test\r\nSubject: x\r\n\r\nHello.\r\n"


def spf(server: DnsServer, resolver) -> str:  # type: ignore[no-untyped-def]
    verdict = authcheck.check(
        RAW, peer_ip=GOOD_IP, helo="mx.sender.test", mail_from="bob@sender.test", resolver=resolver
    )
    return verdict.spf


def allowing(ip: str) -> dict[str, list[tuple[str, str]]]:
    return {"sender.test": [("TXT", txt(f"v=spf1 ip4:{ip} -all"))]}


def test_a_verdict_is_kept_for_the_records_ttl_and_no_longer() -> None:
    server = DnsServer(allowing(GOOD_IP), negative_ttl=60, ttl=1)
    try:
        resolver = server.resolver()
        assert spf(server, resolver) == "pass"
        server.zone = allowing("192.0.2.99")
        assert spf(server, resolver) == "pass"  # within the TTL: the record as it was
        time.sleep(1.2)
        assert spf(server, resolver) == "fail"  # the new record, once the old one expired
    finally:
        server.close()


def test_a_temporary_failure_is_not_kept() -> None:
    server = DnsServer(allowing(GOOD_IP), negative_ttl=60, failing=["sender.test"])
    try:
        resolver = server.resolver()
        assert spf(server, resolver) == "temperror"
        server.failing.clear()
        assert spf(server, resolver) == "pass"
    finally:
        server.close()


def test_dmarc_txt_answers_are_kept_for_their_ttl_and_never_for_an_uncached_resolver() -> None:
    from mailboxes.dns import make_resolver
    from protocols.relay import spfcache

    name = "_dmarc.sender.test"
    server = DnsServer({name: [("TXT", txt("v=DMARC1; p=none"))]}, ttl=1)
    try:
        resolver = server.resolver()
        assert spfcache.txt(resolver, name) == [b"v=DMARC1; p=none"]
        server.zone = {name: [("TXT", txt("v=DMARC1; p=reject"))]}
        assert spfcache.txt(resolver, name) == [b"v=DMARC1; p=none"]  # within the TTL
        uncached = make_resolver([f"127.0.0.1:{server.port}"], lifetime=5, cache=False)
        assert spfcache.txt(uncached, name) == [b"v=DMARC1; p=reject"]  # "check now" sees it at once
        time.sleep(1.2)
        assert spfcache.txt(resolver, name) == [b"v=DMARC1; p=reject"]  # once the old one expired
    finally:
        server.close()
