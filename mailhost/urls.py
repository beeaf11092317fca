"""The web's routes. Django's own /admin/ and auth views are not served: the
dashboard (/manage/) is the admin, and every web login goes through
store.login (docs/SECURITY.md)."""
from django.urls import include, path, re_path
from django.views.generic import RedirectView

from mailboxes import autoconfig
from mailhost.metrics import metrics_view

urlpatterns = [
    path("metrics", metrics_view, name="metrics"),
    path("manage/", include("mailboxes.dashboard.urls")),
    # Client autoconfiguration; /mail/config-v1.1.xml must stay ahead of the webmail's /mail/.
    path(".well-known/autoconfig/mail/config-v1.1.xml", autoconfig.thunderbird, name="autoconfig"),
    path("mail/config-v1.1.xml", autoconfig.thunderbird),
    re_path(r"^[Aa]uto[Dd]iscover/[Aa]uto[Dd]iscover\.xml$", autoconfig.outlook, name="autodiscover"),
    path("mail/", include("mailboxes.webmail.urls")),
    path("", RedirectView.as_view(url="/mail/", permanent=False)),
]
