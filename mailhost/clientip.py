"""Who is at the other end of a web request: the one helper every view that
needs the client's address uses (the login throttle, the login records and
audit rows it writes, the /metrics allow list).

Behind a reverse proxy the peer (REMOTE_ADDR) is the proxy. Its
X-Forwarded-For is believed only when the peer is one of MAIL_TRUSTED_PROXIES
(addresses or CIDR networks), and then read from the right: each trusted
proxy appends the address it saw, so the right-most hop that is not a
trusted proxy is the client. Hops to its left are whatever the client chose
to send and are never used. Without MAIL_TRUSTED_PROXIES the header is
ignored, whoever sends it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings

from .networks import in_networks, parse_ip

if TYPE_CHECKING:
    from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """The client's address: the peer's, or behind trusted proxies the
    right-most forwarded hop that is not one of them."""
    peer = request.META.get("REMOTE_ADDR", "")
    trusted = settings.MAIL_TRUSTED_PROXIES
    if not trusted or not in_networks(peer, trusted):
        return peer
    client = peer
    for hop in reversed(request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")):
        address = parse_ip(hop)
        if address is None:  # a proxy wrote nonsense: stop at the last hop we trust
            break
        client = str(address)
        if not in_networks(client, trusted):
            break
    return client
