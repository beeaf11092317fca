"""The columns and table of the old vacation and forwarding mechanism, once
0015 has carried them into Sieve (issue #20)."""
from django.db import migrations

OLD_COLUMNS = ("forward_keep_copy", "forward_to", "vacation_body", "vacation_days", "vacation_enabled",
               "vacation_subject")


class Migration(migrations.Migration):

    dependencies = [
        ("mailboxes", "0015_vacation_forwarding_to_sieve"),
    ]

    operations = [
        *(migrations.RemoveField(model_name="accountsettings", name=name) for name in OLD_COLUMNS),
        migrations.DeleteModel(name="VacationReply"),
    ]
