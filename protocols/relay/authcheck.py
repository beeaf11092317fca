"""Inbound mail authentication at the MX: SPF (RFC 7208, pyspf) for the
envelope sender and the HELO name, DKIM (RFC 6376, dkimpy), DMARC (RFC 7489,
protocols/relay/dmarc.py), summed up in one Authentication-Results header
field (RFC 8601).

How the SMTP DATA handler uses it (protocols/smtp/handlers.py), after the
message is received and before it is stored:

    verdict = await authcheck.check_inbound(data, peer_ip=..., helo=..., mail_from=...,
                                            authenticated=account is not None)
    if verdict is not None:                  # None: authenticated submission, not checked
        if verdict.reject:
            return verdict.smtp_reply        # "550 5.7.1 ..." (DMARC p=reject, MAIL_DMARC_REJECT)
        message = verdict.apply(message)     # our A-R field on top, forged ones removed
    ... store.deliver(message, recipients, mail_from)

check_inbound and check_async never raise. check() is the blocking form
(DNS lookups): never call it on the event loop.
"""

from __future__ import annotations

import contextvars
import logging
import re
from dataclasses import dataclass

import dkim
import dkim.util
import dns.exception
import dns.resolver
import spf
from django.conf import settings

from mailboxes.dns import DnsTemporary, default_resolver, txt_records

from .. import dbcall
from . import arc, dmarc, plan, spfcache

log = logging.getLogger("protocols.relay.authcheck")
_resolver_var: contextvars.ContextVar[dns.resolver.Resolver | None] = contextvars.ContextVar(
    "authcheck_resolver", default=None
)
MAX_SIGNATURES = 5  # verify at most this many DKIM-Signature fields (RFC 6376 6.1 lets us choose)


@dataclass(frozen=True)
class Verdict:
    spf: str  # pass fail softfail neutral none temperror permerror
    spf_helo: str
    dkim: tuple[tuple[str, str, str], ...]  # (result, d=, s=) per signature checked
    dmarc: str  # pass fail none temperror permerror
    dmarc_policy: str  # the policy that applies: none quarantine reject ("" without a record)
    header: str  # the whole Authentication-Results field, CRLF-terminated
    reject: bool  # refuse at DATA: DMARC fail under p=reject and MAIL_DMARC_REJECT
    author: str = ""  # the From: domain DMARC judged ("" without exactly one)
    aligned_spf: bool = False  # DMARC's own SPF and DKIM results (RFC 7489 policy_evaluated)
    aligned_dkim: bool = False
    arc: str = "none"  # ARC chain validation (RFC 8617): none pass fail
    arc_trusted: bool = False  # passed, last sealed by one of MAIL_ARC_TRUSTED_SEALERS

    @property
    def smtp_reply(self) -> str:
        return "550 5.7.1 Message rejected by the sender domain's DMARC policy"

    def apply(self, data: bytes) -> bytes:
        """data with our field prepended and any field claiming our authserv-id
        removed (RFC 8601 5: a forged one must not be trusted downstream)."""
        return self.header.encode("utf-8") + strip_forged(data, settings.MAIL_HOSTNAME)


# --- DNS for pyspf and dkimpy through our resolver -------------------------


def _resolver() -> dns.resolver.Resolver:
    return _resolver_var.get() or default_resolver()


def _spf_lookup(name: str, qtype: str, tcpfallback: bool = True, timeout: float = 20):  # type: ignore[no-untyped-def]
    """pyspf's DNSLookup hook: its dnspython one, on our resolver."""
    out: list[tuple[tuple[str, str], object]] = []
    try:
        answers = _resolver().resolve(name, qtype, lifetime=timeout, search=False)
    except (dns.resolver.NoAnswer, dns.resolver.NXDOMAIN) as exc:
        spfcache.noted(spfcache.negative_expiry(exc))
        return out
    except (dns.exception.Timeout, dns.resolver.NoNameservers) as exc:
        raise spf.TempError(f"DNS {exc.__class__.__name__}") from None
    spfcache.noted(spfcache.answer_expiry(answers))
    for rdata in answers:
        if qtype in ("A", "AAAA"):
            out.append(((name, qtype), rdata.address))
        elif qtype == "MX":
            out.append(((name, qtype), (rdata.preference, rdata.exchange)))
        elif qtype == "PTR":
            out.append(((name, qtype), rdata.target.to_text(True)))
        elif qtype in ("TXT", "SPF"):
            out.append(((name, qtype), rdata.strings))
    return out


spf.DNSLookup = _spf_lookup  # pyspf looks its resolver up at call time


def _dkim_txt(name: bytes | str, timeout: float = 5) -> bytes | None:
    text = name.decode("ascii", "replace") if isinstance(name, bytes) else name
    try:
        records = txt_records(_resolver(), text.rstrip("."))
    except DnsTemporary:
        raise dkim.DnsTimeoutError(text) from None
    return records[0] if records else None


def _dmarc_txt(name: str) -> list[bytes] | None:
    return spfcache.txt(_resolver(), name)


# --- the checks -------------------------------------------------------------


def _spf(ip: str, sender: str, helo: str) -> str:
    return spfcache.verdict(_resolver(), (ip, sender, helo), lambda: _spf_check(ip, sender, helo))


def _spf_check(ip: str, sender: str, helo: str) -> str:
    try:
        result, _ = spf.check2(i=ip, s=sender, h=helo, querytime=20)
    except Exception:  # pyspf raises a few odd things on odd input
        log.warning("SPF check of %s from %s raised", sender, ip, exc_info=True)
        return "temperror"
    return str(result)


# The end of a message's first empty line as dkimpy splits lines (at LF or CRLF).
_DKIM_HEADER_END = re.compile(rb"\n\r?\n")


def _dkim(data: bytes) -> list[tuple[str, str, str]]:
    # Most mail from other hosts is unsigned: dkimpy's parse of the header
    # section alone (the same fields, the same MessageFormatError) says so
    # without its split and join of the whole body.
    end = 2 if data[:1] == b"\n" or data[:2] == b"\r\n" else None
    if end is None:
        found = _DKIM_HEADER_END.search(data)
        end = found.end() if found is not None else len(data)
    try:
        fields, _ = dkim.rfc822_parse(data[:end])
    except dkim.DKIMException:
        return [("permerror", "", "")]
    if not any(name.lower() == b"dkim-signature" for name, _ in fields):
        return []
    try:
        verifier = dkim.DKIM(data, minkey=1024)
        signatures = [v for k, v in verifier.headers if k.lower() == b"dkim-signature"]
    except dkim.DKIMException:
        return [("permerror", "", "")]
    results = []
    for index, value in enumerate(signatures[:MAX_SIGNATURES]):
        try:
            result = "pass" if verifier.verify(idx=index, dnsfunc=_dkim_txt) else "fail"
        except dkim.DnsTimeoutError:
            result = "temperror"
        except dkim.ValidationError as exc:  # RFC 6376 6.1.3: a changed body is a failed signature
            result = "fail" if "body hash mismatch" in str(exc) else "permerror"
        except dkim.DKIMException:
            result = "permerror"
        try:
            tags = dkim.util.parse_tag_value(value)
        except dkim.util.InvalidTagValueList:
            tags = {}
        results.append((result, _tag(tags, b"d"), _tag(tags, b"s")))
    return results


def _tag(tags: dict, name: bytes) -> str:
    value = tags.get(name, b"")
    return value.decode("ascii", "replace").strip().lower() if isinstance(value, bytes) else str(value)


@dataclass(frozen=True)
class _Dmarc:
    result: str
    policy: str
    author: str
    aligned_spf: bool = False
    aligned_dkim: bool = False


def _dmarc(data: bytes, mail_from_domain: str, spf_result: str, dkim_results: list[tuple[str, str, str]]) -> _Dmarc:
    author = plan.author_domain(data)
    if author is None:
        return _Dmarc("permerror", "", "")  # not exactly one From: author (RFC 7489 6.6.1)
    memo: dict[str, dmarc.Record | None] = {}
    try:
        record = dmarc.discover(author, _dmarc_txt, memo)
        if record is None:
            return _Dmarc("none", "", author)
        policy = record.p if record.domain == author else record.sp
        by_spf = bool(
            spf_result == "pass"
            and mail_from_domain
            and dmarc.aligned(author, mail_from_domain, record.aspf, _dmarc_txt, memo)
        )
        by_dkim = any(
            result == "pass" and d and dmarc.aligned(author, d, record.adkim, _dmarc_txt, memo)
            for result, d, _ in dkim_results
        )
    except DnsTemporary:
        return _Dmarc("temperror", "", author)
    if record.testing and policy != "none":
        policy = "none"
    return _Dmarc("pass" if by_spf or by_dkim else "fail", policy, author, by_spf, by_dkim)


def check(
    data: bytes, *, peer_ip: str, helo: str, mail_from: str, resolver: dns.resolver.Resolver | None = None
) -> Verdict:
    """Check one received message. Blocking (DNS): run it off the event loop."""
    token = _resolver_var.set(resolver) if resolver is not None else None
    try:
        helo_result = _spf(peer_ip, f"postmaster@{helo}", helo) if helo else "none"
        # RFC 7208 2.4: a null sender is checked as postmaster@<HELO>
        mail_result = _spf(peer_ip, mail_from, helo) if mail_from else helo_result
        mail_domain = mail_from.rsplit("@", 1)[1].lower() if "@" in mail_from else helo.lower()
        dkim_results = _dkim(data)
        judged = _dmarc(data, mail_domain, mail_result, dkim_results)
        arc_result, sealer = _arc(data)
    finally:
        if token is not None:
            _resolver_var.reset(token)
    # RFC 8617 7.2: a chain that passes, last sealed by a forwarder we trust,
    # vouches for the authentication the message had before it was forwarded.
    trusted = arc_result == "pass" and sealer in settings.MAIL_ARC_TRUSTED_SEALERS
    reject = judged.result == "fail" and judged.policy == "reject" and settings.MAIL_DMARC_REJECT and not trusted
    header = _header(
        settings.MAIL_HOSTNAME,
        mail_from,
        helo,
        mail_result,
        helo_result,
        dkim_results,
        judged.result,
        judged.policy,
        judged.author,
        arc=(arc_result, sealer, trusted) if arc_result != "none" else None,
    )
    return Verdict(
        mail_result,
        helo_result,
        tuple(dkim_results),
        judged.result,
        judged.policy,
        header,
        reject,
        judged.author,
        judged.aligned_spf,
        judged.aligned_dkim,
        arc_result,
        trusted,
    )


def _arc(data: bytes) -> tuple[str, str]:
    """(ARC chain result, latest sealer), ("none", "") without ARC-Seal fields."""
    head = data.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    if not re.search(rb"(?im)^arc-seal:", head):
        return "none", ""
    return arc.verify(data, _dkim_txt)


async def check_async(data: bytes, *, peer_ip: str, helo: str, mail_from: str) -> Verdict:
    """check() on a small thread pool of its own (DNS waits must not hold store
    threads). Never raises: a check that breaks is logged and the message goes
    on marked temperror rather than failing the SMTP transaction."""
    try:
        return await dbcall.call_in("authcheck", 8, check, data, peer_ip=peer_ip, helo=helo, mail_from=mail_from)
    except Exception:
        log.exception("inbound authentication check failed; the message is marked temperror")
        header = _header(
            settings.MAIL_HOSTNAME,
            mail_from,
            helo,
            "temperror",
            "temperror",
            [("temperror", "", "")],
            "temperror",
            "",
            "",
        )
        return Verdict("temperror", "temperror", (("temperror", "", ""),), "temperror", "", header, False)


async def check_inbound(data: bytes, *, peer_ip: str, helo: str, mail_from: str, authenticated: bool) -> Verdict | None:
    """What the DATA handler calls: None for authenticated submission (our own
    users' mail is not checked), else check_async()."""
    if authenticated:
        return None
    return await check_async(data, peer_ip=peer_ip, helo=helo, mail_from=mail_from)


# --- RFC 8601 ---------------------------------------------------------------

_PVALUE_UNSAFE = re.compile(r"[^A-Za-z0-9.!#$%&'*+/=?^_`{|}~@-]")


def _pvalue(value: str) -> str:
    """A property value: a token or dot-atom-ish address, else a quoted string (RFC 8601 2.2)."""
    if value and not _PVALUE_UNSAFE.search(value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"')[:200] + '"'


def _header(
    authserv_id: str,
    mail_from: str,
    helo: str,
    spf_mail: str,
    spf_helo: str,
    dkim_results: list[tuple[str, str, str]],
    dmarc_result: str,
    policy: str,
    author: str,
    arc: tuple[str, str, bool] | None = None,
) -> str:
    parts = []
    if mail_from:
        parts.append(f"spf={spf_mail} smtp.mailfrom={_pvalue(mail_from)}")
    if helo:
        parts.append(f"spf={spf_helo} smtp.helo={_pvalue(helo)}")
    if not dkim_results:
        parts.append("dkim=none")
    for result, d, s in dkim_results:
        props = (f" header.d={_pvalue(d)}" if d else "") + (f" header.s={_pvalue(s)}" if s else "")
        parts.append(f"dkim={result}{props}")
    if arc is not None:
        result, sealer, trusted = arc
        note = f" (sealed by {sealer}{', trusted' if trusted else ''})" if sealer and "(" not in sealer else ""
        parts.append(f"arc={result}{note}")
    comment = f" (p={policy})" if policy else ""
    parts.append(f"dmarc={dmarc_result}{comment}" + (f" header.from={_pvalue(author)}" if author else ""))
    return f"Authentication-Results: {authserv_id};\r\n\t" + ";\r\n\t".join(parts) + "\r\n"


def strip_forged(data: bytes, authserv_id: str) -> bytes:
    """Remove Authentication-Results fields (with their folded lines) that carry authserv_id."""
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = data.partition(b"\n\n")
    lines = re.split(rb"(?<=\n)", head)
    out: list[bytes] = []
    skipping = False
    wanted = authserv_id.lower().encode()
    for line in lines:
        if line[:1] in (b" ", b"\t") and skipping:
            continue
        skipping = False
        name, colon, value = line.partition(b":")
        if colon and name.strip().lower() == b"authentication-results":
            ident = value.strip().split(b";", 1)[0].strip().lower()
            if ident == wanted:
                skipping = True
                continue
        out.append(line)
    return b"".join(out) + sep + body
