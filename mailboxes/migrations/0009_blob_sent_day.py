import re
from email.utils import parsedate_to_datetime

from django.db import migrations, models

_DATE_FIELD = re.compile(r"(?:^|\n)date[ \t]*:(.*(?:\r?\n[ \t].*)*)", re.IGNORECASE)


def sent_day_from_stored_headers(apps, schema_editor):  # type: ignore[no-untyped-def]
    # The day the Date: field names in its own zone; sent_date kept only
    # the instant, so read the field again from the stored header text.
    Blob = apps.get_model("mailboxes", "Blob")
    rows = Blob.objects.filter(sent_date__isnull=False).values_list("sha256", "header_text")
    for sha256, header_text in rows.iterator(chunk_size=500):
        match = _DATE_FIELD.search(header_text)
        if match is None:
            continue
        try:
            day = parsedate_to_datetime(match.group(1).strip()[:256]).date()
        except Exception:  # garbage the delivery parser also refused
            continue
        Blob.objects.filter(sha256=sha256).update(sent_day=day)


class Migration(migrations.Migration):

    dependencies = [
        ("mailboxes", "0008_folder_recent_uid"),
    ]

    operations = [
        migrations.AddField(
            model_name="blob",
            name="sent_day",
            field=models.DateField(null=True),
        ),
        migrations.RunPython(sent_day_from_stored_headers, migrations.RunPython.noop),
    ]
