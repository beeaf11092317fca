from django.db import migrations


class Migration(migrations.Migration):
    """Joins the send-as grants (security round), the spam filter's tables and
    the Sieve scripts, written side by side from 0008."""

    dependencies = [
        ("mailboxes", "0009_send_as_grants_and_outbound_dkim_domain"),
        ("mailboxes", "0010_spam_policies_and_records"),
        ("mailboxes", "0009_sieve_scripts_and_tracking"),
    ]
    operations: list = []
