from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('mailboxes', '0006_blob_orphaned_at'),
    ]

    operations = [
        migrations.AddField(
            model_name='outboundrecipient',
            name='delay_warned',
            field=models.BooleanField(default=False),
        ),
    ]
