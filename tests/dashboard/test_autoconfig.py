"""Client onboarding: Thunderbird autoconfig, Outlook autodiscover (POX) and
the Apple profile carry the host name, ports and socket types of the
listeners; against running listeners, a client that follows them logs in."""

from __future__ import annotations

import base64
import imaplib
import importlib
import plistlib
import poplib
import smtplib
import socket
import ssl
import xml.etree.ElementTree as ET

import pytest
from django.test import Client

from conftest import PASSWORDS
from mailboxes import autoconfig, store
from tests.servers import InProcessServer

from .conftest import client_as

PORTS = {
    "smtp": 25,
    "submission": 587,
    "smtps": 465,
    "imap": 143,
    "imaps": 993,
    "pop3": 110,
    "pop3s": 995,
    "pop2": 109,
    "managesieve": 4190,
}
OUTLOOK_REQUEST = """<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request>
    <EMailAddress>{address}</EMailAddress>
    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
  </Request>
</Autodiscover>"""
A = "{http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006}"
O = "{http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a}"


@pytest.fixture
def listeners(settings):  # type: ignore[no-untyped-def]
    settings.MAIL_HOSTNAME = "mail.example.net"
    settings.MAIL_PORTS = dict(PORTS)
    # the hosted domains' names added to ALLOWED_HOSTS, as the README says
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, ".example.test", ".elsewhere.test"]
    return settings


def thunderbird_servers(xml: bytes) -> list[tuple[str, str, str, int, str, str, str]]:
    root = ET.fromstring(xml)
    assert root.tag == "clientConfig" and root.get("version") == "1.1"
    provider = root.find("emailProvider")
    assert provider is not None
    return [
        (
            s.tag,
            s.get("type"),
            s.findtext("hostname"),
            int(s.findtext("port")),
            s.findtext("socketType"),
            s.findtext("authentication"),
            s.findtext("username"),
        )
        for s in provider
        if s.tag in ("incomingServer", "outgoingServer")
    ]


def outlook_protocols(xml: bytes) -> dict[str, dict[str, str]]:
    root = ET.fromstring(xml)
    account = root.find(f"{O}Response/{O}Account")
    assert root.tag == f"{A}Autodiscover" and account is not None
    assert account.findtext(f"{O}AccountType") == "email" and account.findtext(f"{O}Action") == "settings"
    return {
        p.findtext(f"{O}Type"): {child.tag.removeprefix(O): child.text for child in p}
        for p in account.findall(f"{O}Protocol")
    }


@pytest.mark.parametrize(
    "url,host",
    [
        ("/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=alice%40example.test", "example.test"),
        ("/mail/config-v1.1.xml", "autoconfig.example.test"),
        ("/mail/config-v1.1.xml?emailaddress=alice@example.test", "autoconfig.example.test:8000"),
    ],
)
def test_thunderbird_autoconfig_names_every_client_listener(team, listeners, url, host):
    response = Client().get(url, HTTP_HOST=host)
    assert response.status_code == 200 and response["Content-Type"].startswith("application/xml")
    assert ET.fromstring(response.content).find("emailProvider/domain").text == "example.test"
    assert thunderbird_servers(response.content) == [
        ("incomingServer", "imap", "mail.example.net", 993, "SSL", "password-cleartext", "%EMAILADDRESS%"),
        ("incomingServer", "imap", "mail.example.net", 143, "STARTTLS", "password-cleartext", "%EMAILADDRESS%"),
        ("incomingServer", "pop3", "mail.example.net", 995, "SSL", "password-cleartext", "%EMAILADDRESS%"),
        ("incomingServer", "pop3", "mail.example.net", 110, "STARTTLS", "password-cleartext", "%EMAILADDRESS%"),
        ("outgoingServer", "smtp", "mail.example.net", 465, "SSL", "password-cleartext", "%EMAILADDRESS%"),
        ("outgoingServer", "smtp", "mail.example.net", 587, "STARTTLS", "password-cleartext", "%EMAILADDRESS%"),
        (
            "incomingServer",
            "managesieve",
            "mail.example.net",
            4190,
            "STARTTLS",
            "password-cleartext",
            "%EMAILADDRESS%",
        ),  # last: the draft's server type for ManageSieve, ignored by clients that lack it
    ]


def test_a_listener_that_is_off_is_not_offered(team, listeners):
    listeners.MAIL_PORTS = {**PORTS, "imap": 0, "pop3s": 0, "submission": 0, "managesieve": 0}
    xml = Client().get("/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=a@example.test").content
    assert [(s[1], s[3]) for s in thunderbird_servers(xml)] == [("imap", 993), ("pop3", 110), ("smtp", 465)]


@pytest.mark.parametrize("query", ["?emailaddress=a@elsewhere.test", "?emailaddress=a@disabled.test", ""])
def test_autoconfig_answers_only_for_active_hosted_domains(team, listeners, query):
    store.admin_create_domain(team.actor("superuser"), "disabled.test")
    store.admin_update_domain(team.actor("superuser"), "disabled.test", active=False)
    response = Client().get("/.well-known/autoconfig/mail/config-v1.1.xml" + query, HTTP_HOST="www.elsewhere.test")
    assert response.status_code == 404


@pytest.mark.parametrize(
    "path", ["/autodiscover/autodiscover.xml", "/Autodiscover/Autodiscover.xml", "/AutoDiscover/AutoDiscover.xml"]
)
def test_outlook_autodiscover_answers_a_pox_request_at_every_spelling(team, listeners, path):
    client = Client(enforce_csrf_checks=True)  # a mail client has no CSRF token
    response = client.post(path, OUTLOOK_REQUEST.format(address="Alice@Example.test"), content_type="text/xml")
    assert response.status_code == 200
    protocols = outlook_protocols(response.content)
    assert protocols["IMAP"] == {
        "Type": "IMAP",
        "Server": "mail.example.net",
        "Port": "993",
        "DomainRequired": "off",
        "LoginName": "alice@example.test",
        "SPA": "off",
        "SSL": "on",
        "AuthRequired": "on",
    }
    assert (protocols["POP3"]["Port"], protocols["POP3"]["SSL"]) == ("995", "on")
    assert (protocols["SMTP"]["Port"], protocols["SMTP"]["SSL"]) == ("465", "on")


def test_outlook_gets_starttls_as_encryption_tls_when_implicit_tls_is_off(team, listeners):
    listeners.MAIL_PORTS = {**PORTS, "imaps": 0, "smtps": 0, "pop3s": 0}
    response = Client().post(
        "/autodiscover/autodiscover.xml", OUTLOOK_REQUEST.format(address="bob@example.test"), content_type="text/xml"
    )
    protocols = outlook_protocols(response.content)
    assert {t: (p["Port"], p.get("Encryption"), p.get("SSL")) for t, p in protocols.items()} == {
        "IMAP": ("143", "TLS", None),
        "POP3": ("110", "TLS", None),
        "SMTP": ("587", "TLS", None),
    }


@pytest.mark.parametrize(
    "body,status",
    [
        (b"<not xml", 200),
        (OUTLOOK_REQUEST.format(address="nobody@elsewhere.test").encode(), 404),
        (b"<x>" + b" " * 20000 + b"</x>", 413),
    ],
)
def test_a_bad_autodiscover_request_gets_an_error_document(team, listeners, body, status):
    response = Client().post("/autodiscover/autodiscover.xml", body, content_type="text/xml")
    assert response.status_code == status
    root = ET.fromstring(response.content)
    assert root.findtext(f"{A}Response/{A}Error/{A}ErrorCode") == "600"


def test_the_apple_profile_sets_up_imap_and_submission_for_the_account(team, listeners):
    response = client_as(team, "admin_a").get(f"/manage/accounts/{team.bob.id}/mail.mobileconfig")
    assert response["Content-Type"] == "application/x-apple-aspen-config"
    assert response["Content-Disposition"] == 'attachment; filename="bob@example.test.mobileconfig"'
    profile = plistlib.loads(response.content)
    assert profile["PayloadType"] == "Configuration"
    mail = profile["PayloadContent"][0]
    assert {
        k: mail[k]
        for k in (
            "PayloadType",
            "EmailAccountType",
            "EmailAddress",
            "IncomingMailServerHostName",
            "IncomingMailServerPortNumber",
            "IncomingMailServerUseSSL",
            "OutgoingMailServerPortNumber",
            "OutgoingMailServerUsername",
        )
    } == {
        "PayloadType": "com.apple.mail.managed",
        "EmailAccountType": "EmailTypeIMAP",
        "EmailAddress": "bob@example.test",
        "IncomingMailServerHostName": "mail.example.net",
        "IncomingMailServerPortNumber": 993,
        "IncomingMailServerUseSSL": True,
        "OutgoingMailServerPortNumber": 465,
        "OutgoingMailServerUsername": "bob@example.test",
    }
    again = plistlib.loads(autoconfig.mobileconfig("bob@example.test"))
    assert again["PayloadUUID"] == profile["PayloadUUID"]  # installing it again replaces it


# --- against the running listeners --------------------------------------------


def _available(names: tuple[str, ...]) -> list[str]:
    """Listeners whose protocol package has a server (others land in their own issues)."""
    ready = []
    for name in names:
        module = {"imap": "imap", "imaps": "imap", "pop3": "pop3", "pop3s": "pop3", "managesieve": "managesieve"}.get(
            name, "smtp"
        )
        try:
            importlib.import_module(f"protocols.{module}.server")
        except ImportError:
            continue
        ready.append(name)
    return ready


def _insecure() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the self-signed test certificate
    return context


def log_in_as_the_config_says(kind: str, host: str, port: int, socket_type: str, user: str, password: str) -> None:
    """Do what a mail client does with one <incomingServer>/<outgoingServer>."""
    implicit = socket_type == "SSL"
    if kind == "imap":
        imap = (
            imaplib.IMAP4_SSL(host, port, ssl_context=_insecure(), timeout=10)
            if implicit
            else imaplib.IMAP4(host, port, timeout=10)
        )
        if not implicit:
            imap.starttls(_insecure())
        imap.login(user, password)
        imap.logout()
    elif kind == "pop3":
        pop = (
            poplib.POP3_SSL(host, port, context=_insecure(), timeout=10)
            if implicit
            else poplib.POP3(host, port, timeout=10)
        )
        if not implicit:
            pop.stls(_insecure())
        pop.user(user)
        pop.pass_(password)
        pop.quit()
    elif kind == "managesieve":
        managesieve_login(host, port, user, password)
    else:
        smtp = (
            smtplib.SMTP_SSL(host, port, context=_insecure(), timeout=10)
            if implicit
            else smtplib.SMTP(host, port, timeout=10)
        )
        if not implicit:
            smtp.starttls(context=_insecure())
        smtp.login(user, password)
        smtp.quit()


def managesieve_login(host: str, port: int, user: str, password: str) -> None:
    """RFC 5804: the greeting, STARTTLS, the capabilities again, AUTHENTICATE PLAIN."""
    with socket.create_connection((host, port), timeout=10) as raw:
        assert _sieve_reply(raw).startswith(b"OK")
        raw.sendall(b"STARTTLS\r\n")
        assert _sieve_reply(raw).startswith(b"OK")
        with _insecure().wrap_socket(raw, server_hostname=host) as tls:
            assert _sieve_reply(tls).startswith(b"OK")
            token = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
            tls.sendall(f'AUTHENTICATE "PLAIN" "{token}"\r\n'.encode())
            assert _sieve_reply(tls).startswith(b"OK")


def _sieve_reply(sock: socket.socket) -> bytes:
    """The line that ends a ManageSieve response (OK, NO or BYE), read a byte at a time
    (nothing past it, so that STARTTLS can take the socket over)."""
    line = b""
    while True:
        byte = sock.recv(1)
        assert byte, "the server closed the connection"
        line += byte
        if line.endswith(b"\n"):
            if line.startswith((b"OK", b"NO", b"BYE")):
                return line
            line = b""


def test_a_client_following_autoconfig_logs_in_to_every_running_listener(live_team, settings):
    names = _available(("imaps", "imap", "pop3s", "pop3", "smtps", "submission", "managesieve"))
    assert "pop3" in names  # POP3 is in; the others join as their servers land
    with InProcessServer(names) as server:
        settings.MAIL_HOSTNAME = "localhost"
        settings.MAIL_PORTS = {**{n: 0 for n in PORTS}, **server.ports}
        xml = Client().get("/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=bob@example.test").content
        offered = thunderbird_servers(xml)
        assert sorted(s[3] for s in offered) == sorted(server.ports.values())
        for _, kind, host, port, socket_type, _, username in offered:
            address = username.replace("%EMAILADDRESS%", "bob@example.test")
            log_in_as_the_config_says(kind, host, port, socket_type, address, PASSWORDS["bob@example.test"])
