"""/manage/: the admin dashboard."""

from django.urls import path

from mailboxes.webmail import security

from . import accounts, aliases, audit, auth, blocks, dmarc, dns, domains, overview, queue, sieve, spam
from .tlsreports import domain_tls_reports

app_name = "manage"

urlpatterns = [
    path("", overview.overview, name="overview"),
    path("login/", auth.login_view, name="login"),
    path("login/passkey", auth.passkey_login_view, name="login_passkey"),
    path("logout/", auth.logout_view, name="logout"),
    # the administrator's own two-factor sign-in, passkeys, sessions and app passwords (the webmail's views)
    *(path("security/" + route, view, name=name) for route, view, name in security.ROUTES),
    path("domains/", domains.domain_list, name="domains"),
    path("domains/new/", domains.domain_new, name="domain-new"),
    path("domains/<str:name>/", domains.domain_detail, name="domain"),
    path("domains/<str:name>/dns/", dns.domain_dns, name="domain-dns"),
    path("domains/<str:name>/sieve/", sieve.domain_sieve, name="domain-sieve"),
    path("domains/<str:name>/dkim/", domains.domain_dkim, name="domain-dkim"),
    path("domains/<str:name>/delete/", domains.domain_delete, name="domain-delete"),
    path("domains/<str:name>/spam/", spam.domain_spam, name="domain-spam"),
    path("domains/<str:name>/tls-reports/", domain_tls_reports, name="domain-tls-reports"),
    path("domains/<str:name>/dmarc/", dmarc.domain_dmarc, name="domain-dmarc"),
    path("spam/", spam.spam_report, name="spam"),
    path("accounts/", accounts.account_list, name="accounts"),
    path("accounts/new/", accounts.account_new, name="account-new"),
    path("accounts/<int:account_id>/", accounts.account_detail, name="account"),
    path("accounts/<int:account_id>/password/", accounts.account_password, name="account-password"),
    path(
        "accounts/<int:account_id>/two-factor/reset", accounts.account_two_factor_reset, name="account-two-factor-reset"
    ),
    path("accounts/<int:account_id>/roles/", accounts.account_roles, name="account-roles"),
    path("accounts/<int:account_id>/send-as/", accounts.account_send_as, name="account-send-as"),
    path("accounts/<int:account_id>/delete/", accounts.account_delete, name="account-delete"),
    path("accounts/<int:account_id>/mail.mobileconfig", accounts.account_mobileconfig, name="account-mobileconfig"),
    path("aliases/", aliases.alias_list, name="aliases"),
    path("aliases/new/", aliases.alias_new, name="alias-new"),
    path("aliases/<int:alias_id>/", aliases.alias_detail, name="alias"),
    path("aliases/<int:alias_id>/delete/", aliases.alias_delete, name="alias-delete"),
    path("queue/", queue.queue_list, name="queue"),
    path("queue/<int:recipient_id>/retry/", queue.queue_retry, name="queue-retry"),
    path("queue/<int:recipient_id>/delete/", queue.queue_delete, name="queue-delete"),
    path("audit/", audit.audit_list, name="audit"),
    path("blocks/", blocks.block_list, name="blocks"),
    path("blocks/clear/", blocks.block_clear, name="block-clear"),
]
