from django.db import migrations


class Migration(migrations.Migration):
    """Joins the account security tables (app passwords, TOTP, web sessions,
    passkeys, the domain's two-factor rule) with the rest."""

    dependencies = [
        ("mailboxes", "0012_merge_imap_and_tls"),
        ("mailboxes", "0013_passkeys"),
    ]
    operations: list = []
