"""Mail client onboarding, generated from the real listener settings
(MAIL_HOSTNAME, MAIL_PORTS; a port of 0 is not offered):

- Thunderbird autoconfig, clientConfig version 1.1, at
  /.well-known/autoconfig/mail/config-v1.1.xml and, on the autoconfig.<domain>
  host, /mail/config-v1.1.xml (routed before the webmail's /mail/ prefix).
  The domain comes from ?emailaddress= or else the Host name. ManageSieve,
  when on, is the last server, of the type "managesieve" that the IETF's
  autoconfig draft registers.
- Outlook autodiscover, the plain-old-XML protocol ("POX", response schema
  outlook/responseschema/2006a): POST /autodiscover/autodiscover.xml with
  the address in Request/EMailAddress (every capitalisation Outlook uses).
- An Apple configuration profile (.mobileconfig, com.apple.mail.managed)
  for one account; the dashboard offers it on the account page.

Only hosted, active domains get an answer; others get 404. No password is
ever part of what these return.
"""

from __future__ import annotations

import plistlib
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.views.decorators.csrf import csrf_exempt

from mailboxes import store

AUTODISCOVER_NS = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
OUTLOOK_NS = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
MAX_REQUEST_BYTES = 16 * 1024


@dataclass(frozen=True)
class Endpoint:
    listener: str  # the MAIL_PORTS name
    kind: str  # imap | pop3 | smtp
    port: int
    socket: str  # SSL (implicit TLS) | STARTTLS


# Preference order within each kind: implicit TLS first (RFC 8314 3.3).
_LISTENERS = (
    ("imaps", "imap", "SSL"),
    ("imap", "imap", "STARTTLS"),
    ("pop3s", "pop3", "SSL"),
    ("pop3", "pop3", "STARTTLS"),
    ("smtps", "smtp", "SSL"),
    ("submission", "smtp", "STARTTLS"),
)


def endpoints() -> list[Endpoint]:
    """The client-facing listeners that are on (port 25 is for other servers, not clients)."""
    return [
        Endpoint(name, kind, settings.MAIL_PORTS[name], socket)
        for name, kind, socket in _LISTENERS
        if settings.MAIL_PORTS.get(name)
    ]


def hostname() -> str:
    return settings.MAIL_HOSTNAME.rstrip(".")


def _first(kind: str) -> Endpoint | None:
    return next((e for e in endpoints() if e.kind == kind), None)


def _xml(root: ET.Element) -> bytes:
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = text
    return element


# --- Thunderbird ----------------------------------------------------------


def thunderbird_config(domain: str) -> bytes:
    root = ET.Element("clientConfig", version="1.1")
    provider = _sub(root, "emailProvider", id=domain)
    _sub(provider, "domain", domain)
    _sub(provider, "displayName", f"{domain} mail")
    _sub(provider, "displayShortName", domain)
    for e in endpoints():
        _server(provider, "outgoingServer" if e.kind == "smtp" else "incomingServer", e.kind, e.port, e.socket)
    if settings.MAIL_PORTS.get("managesieve"):
        # The IETF's autoconfig draft (draft-ietf-mailmaint-autoconfig, the
        # successor of this format) registers the server type "managesieve"
        # (RFC 5804, TCP); clients must ignore a type they do not know, and it
        # comes last, so no client takes it for its mailbox (docs/SIEVE.md).
        _server(provider, "incomingServer", "managesieve", settings.MAIL_PORTS["managesieve"], "STARTTLS")
    return _xml(root)


def _server(provider: ET.Element, tag: str, kind: str, port: int, socket: str) -> None:
    server = _sub(provider, tag, type=kind)
    _sub(server, "hostname", hostname())
    _sub(server, "port", str(port))
    _sub(server, "socketType", socket)
    _sub(server, "authentication", "password-cleartext")
    _sub(server, "username", "%EMAILADDRESS%")


def thunderbird(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    address = request.GET.get("emailaddress", "")
    if "@" in address:
        name = address.rpartition("@")[2]
    else:
        name = request.get_host().partition(":")[0].removeprefix("autoconfig.")
    domain = store.hosted_domain(name)
    if domain is None:
        return HttpResponse("not a domain served here", status=404, content_type="text/plain")
    return HttpResponse(thunderbird_config(domain), content_type="application/xml; charset=utf-8")


# --- Outlook --------------------------------------------------------------


def outlook_response(address: str, display_name: str = "") -> bytes:
    root = ET.Element("Autodiscover", xmlns=AUTODISCOVER_NS)
    response = _sub(root, "Response", xmlns=OUTLOOK_NS)
    if display_name:
        _sub(_sub(response, "User"), "DisplayName", display_name)
    account = _sub(response, "Account")
    _sub(account, "AccountType", "email")
    _sub(account, "Action", "settings")
    for kind in ("imap", "pop3", "smtp"):
        e = _first(kind)
        if e is None:
            continue
        protocol = _sub(account, "Protocol")
        _sub(protocol, "Type", kind.upper())
        _sub(protocol, "Server", hostname())
        _sub(protocol, "Port", str(e.port))
        _sub(protocol, "DomainRequired", "off")
        _sub(protocol, "LoginName", address)
        _sub(protocol, "SPA", "off")
        # SSL means implicit TLS; STARTTLS is Encryption=TLS (which overrides SSL).
        if e.socket == "SSL":
            _sub(protocol, "SSL", "on")
        else:
            _sub(protocol, "Encryption", "TLS")
        _sub(protocol, "AuthRequired", "on")
        if kind == "smtp":
            _sub(protocol, "UsePOPAuth", "off")
            _sub(protocol, "SMTPLast", "off")
    return _xml(root)


def outlook_error(code: str, message: str) -> bytes:
    root = ET.Element("Autodiscover", xmlns=AUTODISCOVER_NS)
    error = _sub(_sub(root, "Response"), "Error")
    _sub(error, "ErrorCode", code)
    _sub(error, "Message", message)
    _sub(error, "DebugData")
    return _xml(root)


def requested_address(body: bytes) -> str:
    """Request/EMailAddress of an autodiscover request ('' if there is none)."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return ""
    for element in root.iter():
        if element.tag.rpartition("}")[2].lower() == "emailaddress" and element.text:
            return element.text.strip()
    return ""


@csrf_exempt  # a mail client's POST, not a browser form
def outlook(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    xml_type = "application/xml; charset=utf-8"
    length = int(request.headers.get("Content-Length") or 0)
    if length > MAX_REQUEST_BYTES:
        return HttpResponse(outlook_error("600", "Invalid Request"), status=413, content_type=xml_type)
    body = request.read(MAX_REQUEST_BYTES) if request.method == "POST" else b""
    address = requested_address(body) or request.GET.get("emailaddress", "")
    try:
        address = store.normalize_address(address)
    except store.InvalidInput:
        return HttpResponse(outlook_error("600", "Invalid Request"), content_type=xml_type)
    if store.hosted_domain(address.rpartition("@")[2]) is None:
        return HttpResponse(outlook_error("600", "Invalid Request"), status=404, content_type=xml_type)
    return HttpResponse(outlook_response(address), content_type=xml_type)


# --- Apple ----------------------------------------------------------------


def mobileconfig(address: str, display_name: str = "") -> bytes:
    """An unsigned configuration profile with one mail account. Its UUIDs
    derive from the address and host, so installing it again replaces it."""
    incoming = _first("imap") or _first("pop3")
    outgoing = _first("smtp")
    ident = f"{address}@{hostname()}"
    payload: dict[str, object] = {
        "PayloadType": "com.apple.mail.managed",
        "PayloadVersion": 1,
        "PayloadIdentifier": f"mailhost.{hostname()}.mail.{address}",
        "PayloadUUID": str(uuid.uuid5(uuid.NAMESPACE_URL, "mail:" + ident)).upper(),
        "PayloadDisplayName": address,
        "EmailAccountDescription": address,
        "EmailAccountName": display_name or address,
        "EmailAddress": address,
        "EmailAccountType": "EmailTypePOP" if incoming and incoming.kind == "pop3" else "EmailTypeIMAP",
    }
    if incoming:
        payload.update(
            {
                "IncomingMailServerHostName": hostname(),
                "IncomingMailServerPortNumber": incoming.port,
                "IncomingMailServerUseSSL": True,
                "IncomingMailServerAuthentication": "EmailAuthPassword",
                "IncomingMailServerUsername": address,
            }
        )
    if outgoing:
        payload.update(
            {
                "OutgoingMailServerHostName": hostname(),
                "OutgoingMailServerPortNumber": outgoing.port,
                "OutgoingMailServerUseSSL": True,
                "OutgoingMailServerAuthentication": "EmailAuthPassword",
                "OutgoingMailServerUsername": address,
                "OutgoingPasswordSameAsIncomingPassword": True,
            }
        )
    profile = {
        "PayloadType": "Configuration",
        "PayloadVersion": 1,
        "PayloadIdentifier": f"mailhost.{hostname()}.{address}",
        "PayloadUUID": str(uuid.uuid5(uuid.NAMESPACE_URL, "profile:" + ident)).upper(),
        "PayloadDisplayName": f"Mail for {address}",
        "PayloadDescription": f"Sets up {address} on {hostname()}",
        "PayloadRemovalDisallowed": False,
        "PayloadContent": [payload],
    }
    return plistlib.dumps(profile)


def mobileconfig_response(address: str, display_name: str = "") -> HttpResponse:
    response = HttpResponse(mobileconfig(address, display_name), content_type="application/x-apple-aspen-config")
    safe = "".join(c if c.isalnum() or c in "@._-" else "_" for c in address)
    response["Content-Disposition"] = f'attachment; filename="{safe}.mobileconfig"'
    return response
