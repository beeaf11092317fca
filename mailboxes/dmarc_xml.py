"""DMARC aggregate reports received (RFC 7489 7.2): the report files a
message carries (gzip, zip or bare XML, 7.2.1.1) and their XML, parsed into
plain values. Pure: bytes in, values out, no I/O.

Limits are checked before memory is spent: a compressed file over
MAX_COMPRESSED or inflating past MAX_XML is refused, as is XML with a
document type declaration (no entities, so no billion laughs and no external
entity reads; lxml is told not to resolve entities or touch the network as
well). The namespace, if any, is ignored: RFC 7489's reports carry none,
those of its successor draft carry one.
"""

from __future__ import annotations

import datetime
import email
import email.policy
import io
import ipaddress
import zipfile
import zlib
from dataclasses import dataclass
from email.message import Message

from lxml import etree

MAX_COMPRESSED = 5 * 1024 * 1024
MAX_XML = 20 * 1024 * 1024
MAX_FILES = 4  # report files looked at in one message
RESULTS = {"pass", "fail"}
DISPOSITIONS = {"none", "quarantine", "reject"}


class NotAReport(ValueError):
    """The message or file is not an aggregate report we take."""


@dataclass(frozen=True)
class ReportRow:
    source_ip: str
    count: int
    header_from: str
    disposition: str
    policy_dkim: str
    policy_spf: str
    dkim: tuple[tuple[str, str], ...]  # (result, domain)
    spf: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class AggregateReport:
    org_name: str
    email: str
    report_id: str
    begin: datetime.datetime
    end: datetime.datetime
    domain: str
    rows: tuple[ReportRow, ...]


def _gunzip(data: bytes) -> bytes:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, MAX_XML + 1)
    except zlib.error:
        raise NotAReport("bad gzip data") from None
    if len(out) > MAX_XML:
        raise NotAReport("the report inflates past the limit")
    return out


def _unzip(data: bytes) -> bytes:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = [m for m in archive.infolist() if not m.is_dir()]
            if len(members) != 1:
                raise NotAReport("a report zip holds one file")
            if members[0].file_size > MAX_XML:
                raise NotAReport("the report inflates past the limit")
            with archive.open(members[0]) as handle:
                out = handle.read(MAX_XML + 1)  # the header's size may lie
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError):
        raise NotAReport("bad zip data") from None
    if len(out) > MAX_XML:
        raise NotAReport("the report inflates past the limit")
    return out


def unpack(data: bytes) -> bytes:
    """The XML of one report file, by its magic bytes."""
    if len(data) > MAX_COMPRESSED:
        raise NotAReport("the report file is too big")
    if data[:2] == b"\x1f\x8b":
        return _gunzip(data)
    if data[:4] == b"PK\x03\x04":
        return _unzip(data)
    if data.lstrip()[:1] == b"<":
        return data
    raise NotAReport("neither gzip, zip nor XML")


def _children(element: etree._Element, name: str) -> list[etree._Element]:
    return [c for c in element if isinstance(c.tag, str) and etree.QName(c).localname == name]


def _child(element: etree._Element | None, name: str) -> etree._Element | None:
    if element is None:
        return None
    found = _children(element, name)
    return found[0] if found else None


def _text(element: etree._Element | None, *path: str) -> str:
    for name in path:
        element = _child(element, name)
    return (element.text or "").strip() if element is not None else ""


def _int(text: str, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise NotAReport(f"{what} is not a number") from None
    if value < 0:
        raise NotAReport(f"{what} is negative")
    return value


def _time(text: str, what: str) -> datetime.datetime:
    try:
        return datetime.datetime.fromtimestamp(_int(text, what), datetime.UTC)
    except (OverflowError, OSError, ValueError):
        raise NotAReport(f"{what} is out of range") from None


def _word(text: str, allowed: set[str]) -> str:
    text = text.lower()
    return text if text in allowed else ""


def _row(record: etree._Element) -> ReportRow:
    row = _child(record, "row")
    try:
        source_ip = str(ipaddress.ip_address(_text(row, "source_ip")))
    except ValueError:
        raise NotAReport("a record without a valid source_ip") from None
    evaluated = _child(row, "policy_evaluated")
    auth = _child(record, "auth_results")
    results = (
        []
        if auth is None
        else [
            (kind, _text(a, "result").lower()[:16], _text(a, "domain").lower()[:255])
            for kind in ("dkim", "spf")
            for a in _children(auth, kind)
        ]
    )
    return ReportRow(
        source_ip=source_ip,
        count=_int(_text(row, "count"), "count"),
        header_from=_text(record, "identifiers", "header_from").lower(),
        disposition=_word(_text(evaluated, "disposition"), DISPOSITIONS),
        policy_dkim=_word(_text(evaluated, "dkim"), RESULTS),
        policy_spf=_word(_text(evaluated, "spf"), RESULTS),
        dkim=tuple((r, d) for kind, r, d in results if kind == "dkim"),
        spf=tuple((r, d) for kind, r, d in results if kind == "spf"),
    )


def parse_report(xml: bytes) -> AggregateReport:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_pis=True)
    try:
        root = etree.fromstring(xml, parser)
    except etree.XMLSyntaxError:
        raise NotAReport("not well-formed XML") from None
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise NotAReport("a document type declaration (entities are refused)")
    if etree.QName(root).localname != "feedback":
        raise NotAReport("the root element is not <feedback>")
    meta = _child(root, "report_metadata")
    domain = _text(root, "policy_published", "domain").lower().rstrip(".")
    org_name, report_id = _text(meta, "org_name"), _text(meta, "report_id")
    if not (domain and org_name and report_id):
        raise NotAReport("no domain, org_name or report_id")
    return AggregateReport(
        org_name=org_name,
        email=_text(meta, "email"),
        report_id=report_id,
        begin=_time(_text(meta, "date_range", "begin"), "begin"),
        end=_time(_text(meta, "date_range", "end"), "end"),
        domain=domain,
        rows=tuple(_row(record) for record in _children(root, "record")),
    )


def _files(message: Message) -> list[bytes]:
    out = []
    for part in message.walk():
        if part.is_multipart():
            continue
        kind = part.get_content_type()
        name = (part.get_filename() or "").lower()
        if kind in (
            "application/gzip",
            "application/x-gzip",
            "application/zip",
            "application/x-zip-compressed",
            "application/xml",
            "text/xml",
        ) or name.endswith((".xml", ".gz", ".zip")):
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes) and payload:
                out.append(payload)
    return out[:MAX_FILES]


def reports_in_message(data: bytes) -> list[AggregateReport]:
    """Every aggregate report the message carries."""
    message = email.message_from_bytes(data, policy=email.policy.compat32)
    files = _files(message)
    if not files:
        raise NotAReport("no report file in the message")
    return [parse_report(unpack(f)) for f in files]
