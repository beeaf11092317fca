from django.db import migrations, models


def keywords_in_use(apps, schema_editor):  # type: ignore[no-untyped-def]
    # Start each folder's keyword set (IMAP's FLAGS) with what its messages hold.
    Folder, Message = apps.get_model("mailboxes", "Folder"), apps.get_model("mailboxes", "Message")
    found: dict[int, dict[str, None]] = {}
    for folder_id, keywords in Message.objects.exclude(keywords=[]).values_list("folder_id", "keywords").iterator():
        found.setdefault(folder_id, {}).update(dict.fromkeys(keywords or ()))
    for folder_id, keywords in found.items():
        Folder.objects.filter(pk=folder_id).update(keywords=sorted(keywords))


class Migration(migrations.Migration):

    dependencies = [
        ("mailboxes", "0009_blob_sent_day"),
    ]

    operations = [
        migrations.AddField(
            model_name="folder",
            name="keywords",
            field=models.JSONField(default=list),
        ),
        migrations.RunPython(keywords_in_use, migrations.RunPython.noop),
    ]
