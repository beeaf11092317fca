"""Our MTA-STS policies (RFC 8461 3.2), one per hosted domain whose admin
chose a mode in the dashboard: https://mta-sts.<domain>/.well-known/mta-sts.txt,
the domain taken from the Host name (the web app is reached as
mta-sts.<domain>: a CNAME to MAIL_HOSTNAME, and a certificate naming it,
which `manage.py certificate` asks for once the name points here). The policy names
MAIL_HOSTNAME as the one MX; the DNS page lists the `_mta-sts` TXT record
with the policy's id (dashboard/dnscheck.py)."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from mailboxes import store

# RFC 8461 3.2: max_age in seconds; a week once enforced (senders keep it
# that long), a day while testing so that a mistake does not linger.
MAX_AGE = {"enforce": 604800, "testing": 86400, "none": 86400}


def policy_text(mode: str) -> str:
    lines = ["version: STSv1", f"mode: {mode}"]
    if mode != "none":
        lines.append(f"mx: {settings.MAIL_HOSTNAME.rstrip('.')}")
    lines.append(f"max_age: {MAX_AGE[mode]}")
    return "\r\n".join(lines) + "\r\n"


@require_safe
def mta_sts_policy(request: HttpRequest) -> HttpResponse:
    host = request.get_host().rsplit(":", 1)[0].lower().rstrip(".")
    if not host.startswith("mta-sts."):
        raise Http404("not an mta-sts host")
    policy = store.published_sts_policy(host.removeprefix("mta-sts."))
    if policy is None:
        raise Http404("no policy")
    return HttpResponse(policy_text(policy.mode), content_type="text/plain")
