from django.db import migrations, models
from django.db.models import F


def existing_mail_is_not_recent(apps, schema_editor):  # type: ignore[no-untyped-def]
    # Mail already there when \Recent tracking starts is old: no session's
    # first SELECT after the upgrade should see a whole mailbox as new.
    apps.get_model("mailboxes", "Folder").objects.update(recent_uid=F("uidnext"))


class Migration(migrations.Migration):

    dependencies = [
        ('mailboxes', '0007_outbound_delay_warned'),
    ]

    operations = [
        migrations.AddField(
            model_name='folder',
            name='recent_uid',
            field=models.BigIntegerField(default=1),
        ),
        migrations.RunPython(existing_mail_is_not_recent, migrations.RunPython.noop),
    ]
