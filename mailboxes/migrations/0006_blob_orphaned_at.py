from django.db import migrations, models


class Migration(migrations.Migration):
    """Blob.orphaned_at for the blob collector: a nullable column with no
    default (no table rewrite) and a partial index over the few marked rows."""

    dependencies = [
        ('mailboxes', '0005_transfer_jobs'),
    ]

    operations = [
        migrations.AddField(
            model_name='blob',
            name='orphaned_at',
            field=models.DateTimeField(null=True),
        ),
        migrations.AddIndex(
            model_name='blob',
            index=models.Index(condition=models.Q(('orphaned_at__isnull', False)), fields=['sha256'],
                               name='blob_orphaned'),
        ),
    ]
