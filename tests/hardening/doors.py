"""One login attempt through each door, answered as "ok", "fail" (wrong
credentials) or "blocked" (refused by the brute-force defence before the
credentials were looked at). Real clients over real sockets; the web doors
through Django's test client in this process."""

from __future__ import annotations

import base64
import imaplib
import poplib
import smtplib
import socket
from collections.abc import Callable

Ports = dict[str, int]
Attempt = Callable[[Ports, str, str], str]


def smtp_auth(ports: Ports, address: str, password: str) -> str:
    with smtplib.SMTP("127.0.0.1", ports["submission"], timeout=10) as client:
        client.ehlo("hardening.test")
        client.user, client.password = address, password
        try:  # one mechanism: login() would try the next one after a failure
            client.auth("PLAIN", client.auth_plain)
        except smtplib.SMTPAuthenticationError as exc:
            return "blocked" if exc.smtp_code == 454 else "fail"
        return "ok"


def _imap_outcome(call: Callable[[], object]) -> str:
    try:
        call()
    except imaplib.IMAP4.error as exc:
        return "blocked" if "UNAVAILABLE" in str(exc) else "fail"
    return "ok"


def imap_login(ports: Ports, address: str, password: str) -> str:
    client = imaplib.IMAP4("127.0.0.1", ports["imap"], timeout=10)
    try:
        # quoted, so that a name with a space is one argument (RFC 3501 9, astring)
        return _imap_outcome(lambda: client.login(client._quote(address), password))
    finally:
        client.shutdown()


def imap_authenticate(ports: Ports, address: str, password: str) -> str:
    client = imaplib.IMAP4("127.0.0.1", ports["imap"], timeout=10)
    plain = f"\0{address}\0{password}".encode()
    try:
        return _imap_outcome(lambda: client.authenticate("PLAIN", lambda _: plain))
    finally:
        client.shutdown()


def _pop_outcome(call: Callable[[], object]) -> str:
    try:
        call()
    except poplib.error_proto as exc:
        return "blocked" if b"too many failed" in exc.args[0] else "fail"
    return "ok"


def pop3_user_pass(ports: Ports, address: str, password: str) -> str:
    client = poplib.POP3("127.0.0.1", ports["pop3"], timeout=10)
    try:
        return _pop_outcome(lambda: (client.user(address), client.pass_(password)))
    finally:
        client.close()


def pop3_auth_plain(ports: Ports, address: str, password: str) -> str:
    client = poplib.POP3("127.0.0.1", ports["pop3"], timeout=10)
    token = base64.b64encode(f"\0{address}\0{password}".encode()).decode()
    try:
        return _pop_outcome(lambda: client._shortcmd(f"AUTH PLAIN {token}"))
    finally:
        client.close()


def pop3_apop(ports: Ports, address: str, secret: str) -> str:
    client = poplib.POP3("127.0.0.1", ports["pop3"], timeout=10)
    try:
        return _pop_outcome(lambda: client.apop(address, secret))
    finally:
        client.close()


def pop2_helo(ports: Ports, address: str, password: str) -> str:
    with socket.create_connection(("127.0.0.1", ports["pop2"]), timeout=10) as sock:
        reader = sock.makefile("rb")
        reader.readline()
        sock.sendall(f"HELO {address} {password}\r\n".encode())
        reply = reader.readline()
        sock.sendall(b"QUIT\r\n")
    if reply.startswith(b"#"):
        return "ok"
    return "blocked" if b"too many failed" in reply else "fail"


def managesieve_authenticate(ports: Ports, address: str, password: str) -> str:
    token = base64.b64encode(f"\0{address}\0{password}".encode()).decode()
    with socket.create_connection(("127.0.0.1", ports["managesieve"]), timeout=10) as sock:
        reader = sock.makefile("rb")
        for line in iter(reader.readline, b""):  # the capabilities, then OK
            if line.startswith(b"OK"):
                break
        sock.sendall(f'AUTHENTICATE "PLAIN" "{token}"\r\n'.encode())
        reply = reader.readline()
        sock.sendall(b"LOGOUT\r\n")
    if reply.startswith(b"OK"):
        return "ok"
    return "blocked" if b"(TRYLATER)" in reply else "fail"


def _web(path: str, denied: bytes) -> Attempt:
    def attempt(ports: Ports, address: str, password: str, ip: str = "127.0.0.1", forwarded_for: str = "") -> str:
        from django.test import Client

        headers = {"HTTP_X_FORWARDED_FOR": forwarded_for} if forwarded_for else {}
        response = Client(REMOTE_ADDR=ip, **headers).post(path, {"address": address, "password": password})
        if response.status_code == 302:
            return "ok"
        return "blocked" if denied in response.content else "fail"

    return attempt


webmail = _web("/mail/login/", b"Too many failed logins")
dashboard = _web("/manage/login/", b"Too many failed logins")

MAIL_DOORS: dict[str, Attempt] = {
    "smtp-auth": smtp_auth,
    "imap-login": imap_login,
    "imap-authenticate": imap_authenticate,
    "pop3-user-pass": pop3_user_pass,
    "pop3-auth-plain": pop3_auth_plain,
    "pop3-apop": pop3_apop,
    "pop2-helo": pop2_helo,
    "managesieve-authenticate": managesieve_authenticate,
}
WEB_DOORS: dict[str, Attempt] = {"webmail": webmail, "dashboard": dashboard}
