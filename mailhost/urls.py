"""The web's routes. Django's own /admin/ and auth views are not served: the
dashboard (/manage/) is the admin, and every web login goes through
store.login (docs/SECURITY.md)."""

from django.urls import include, path, re_path
from django.views.generic import RedirectView
from django.views.i18n import set_language

from mailboxes import autoconfig
from mailboxes.acme_views import acme_challenge
from mailboxes.mta_sts import mta_sts_policy
from mailboxes.tlsrpt_views import receive_tls_report
from mailhost.metrics import metrics_view

urlpatterns = [
    path("metrics", metrics_view, name="metrics"),
    path("manage/", include("mailboxes.dashboard.urls")),
    # Client autoconfiguration; /mail/config-v1.1.xml must stay ahead of the webmail's /mail/.
    path(".well-known/autoconfig/mail/config-v1.1.xml", autoconfig.thunderbird, name="autoconfig"),
    path("mail/config-v1.1.xml", autoconfig.thunderbird),
    # RFC 8555 8.3: the token is base64url (no padding), nothing else reaches the store.
    re_path(r"^\.well-known/acme-challenge/(?P<token>[A-Za-z0-9_-]{1,255})$", acme_challenge, name="acme-challenge"),
    path(".well-known/mta-sts.txt", mta_sts_policy, name="mta-sts"),  # RFC 8461 3.3, on mta-sts.<domain>
    path("tlsrpt/", receive_tls_report, name="tlsrpt"),  # RFC 8460 3: our https: rua
    re_path(r"^[Aa]uto[Dd]iscover/[Aa]uto[Dd]iscover\.xml$", autoconfig.outlook, name="autodiscover"),
    path("mail/", include("mailboxes.webmail.urls")),
    path("i18n/setlang/", set_language, name="set_language"),  # the language chosen in the settings
    path("", RedirectView.as_view(url="/mail/", permanent=False)),
]
