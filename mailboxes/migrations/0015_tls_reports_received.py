# Receiving SMTP TLS reports (RFC 8460), mailboxes/store/tlsrpt_received.py.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('mailboxes', '0014_merge_account_security'),
    ]

    operations = [
        migrations.CreateModel(
            name='TlsReportReceived',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('organization', models.CharField(max_length=255)),
                ('contact', models.CharField(blank=True, default='', max_length=255)),
                ('report_id', models.CharField(max_length=255)),
                ('begin', models.DateTimeField()),
                ('end', models.DateTimeField()),
                ('policy_types', models.JSONField(default=list)),
                ('successful', models.BigIntegerField(default=0)),
                ('failed', models.BigIntegerField(default=0)),
                ('failures', models.JSONField(default=dict)),
                ('source', models.CharField(max_length=8)),
                ('received', models.DateTimeField(auto_now_add=True)),
                ('domain', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='tls_reports', to='mailboxes.domain')),
            ],
            options={
                'indexes': [models.Index(fields=['domain', '-begin'], name='tls_report_domain_begin')],
                'constraints': [models.UniqueConstraint(fields=('domain', 'organization', 'report_id'), name='tls_report_received_key')],
            },
        ),
    ]
