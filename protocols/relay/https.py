"""One HTTPS request for the relay's side jobs: fetching an MTA-STS policy
(mtasts.py, RFC 8461 3.3) and posting a TLS report to an https: rua
(tlsrpt.py, RFC 8460 5.4). The address comes from our resolver
(MAIL_DNS_NAMESERVERS), TLS 1.2 or later, the certificate verified against
the system's trust store and the host name (SNI sent), no redirect followed
(a 3xx is just a status), the response body read up to a limit, and
MAIL_RELAY_TIMEOUT for each step."""

from __future__ import annotations

import http.client
import socket
import ssl
from dataclasses import dataclass

import dns.resolver
from django.conf import settings

from mailboxes.dns import DnsTemporary

from . import mx


class HttpsFailed(Exception):
    """No answer: the DNS, the connection, TLS, or a response too large or malformed."""


@dataclass(frozen=True)
class HttpsResponse:
    status: int
    content_type: str
    body: bytes


def request(
    host: str,
    port: int,
    method: str,
    path: str,
    resolver: dns.resolver.Resolver,
    *,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    limit: int = 64 * 1024,
) -> HttpsResponse:
    try:
        addresses = mx.host_addresses(host, resolver)
    except DnsTemporary as exc:
        raise HttpsFailed(str(exc)) from None
    if not addresses:
        raise HttpsFailed(f"{host} has no address")
    context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    fields = {
        "Host": host if port == 443 else f"{host}:{port}",
        "User-Agent": "mailhost",
        **(headers or {}),
        "Connection": "close",
    }
    if body or method == "POST":
        fields["Content-Length"] = str(len(body))
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields.items()) + "\r\n"
    timeout = float(settings.MAIL_RELAY_TIMEOUT)
    try:
        with (
            socket.create_connection((addresses[0], port), timeout) as raw,
            context.wrap_socket(raw, server_hostname=host) as tls,
        ):
            tls.sendall(head.encode("ascii") + body)
            response = http.client.HTTPResponse(tls)
            response.begin()
            data = response.read(limit + 1)
    except (OSError, http.client.HTTPException, UnicodeEncodeError) as exc:
        raise HttpsFailed(f"{host}: {exc.__class__.__name__}: {exc}") from None
    if len(data) > limit:
        raise HttpsFailed(f"{host}: the response is larger than {limit} octets")
    return HttpsResponse(response.status, response.headers.get_content_type(), data)
