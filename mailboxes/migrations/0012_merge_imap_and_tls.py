from django.db import migrations


class Migration(migrations.Migration):
    """Joins the IMAP conformance work (sent day, keywords, subscriptions) and
    the TLS tables (ACME challenges, MTA-STS cache, TLS outcomes) with 0011."""

    dependencies = [
        ("mailboxes", "0011_merge_security_spam_sieve"),
        ("mailboxes", "0011_subscription_without_folder"),
        ("mailboxes", "0009_tls_acme_mta_sts_and_reports"),
    ]
    operations: list = []
