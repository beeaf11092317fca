"""Message indexes for big folders (docs/PERFORMANCE.md, "Big folders, third
round"): (blob, folder) instead of (blob), so that a text SEARCH, having found
candidate blobs by trigram, probes each one's row in the folder with one index
lookup (without it, and with the table's statistics stale after a big import,
PostgreSQL combined the folder's whole UID index with the blob one for every
candidate: 12 s for SUBJECT on 100,000 messages). The foreign keys lose the
indexes Django gave them: the blob's two (one for LIKE) duplicated message_blob,
the folder's is the first column of message_folder_uid. Three fewer indexes to
write per message stored."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("mailboxes", "0018_merge_round4"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="message",
            index=models.Index(fields=["blob", "folder"], name="message_blob_folder"),
        ),
        migrations.RemoveIndex(
            model_name="message",
            name="message_blob",
        ),
        migrations.AlterField(
            model_name="message",
            name="blob",
            field=models.ForeignKey(
                db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name="+", to="mailboxes.blob"
            ),
        ),
        migrations.AlterField(
            model_name="message",
            name="folder",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="messages",
                to="mailboxes.folder",
            ),
        ),
    ]
