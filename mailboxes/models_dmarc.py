"""DMARC aggregate reporting (RFC 7489 7.2), both ways: the verdicts our MX
reached, counted by day and by what a report row tells apart (sent out daily
by protocols/relay/dmarcrpt.py), and the reports other receivers sent about
our own domains (mailboxes/dmarc_xml.py parses them; the dashboard shows them).
Imported by mailboxes/models.py, so Django sees them as the app's models."""

from __future__ import annotations

from django.db import models


class DmarcVerdict(models.Model):
    """Inbound messages of one UTC day with the same author domain, source IP,
    envelope sender domain, authentication results and DMARC outcome."""

    day = models.DateField()
    header_from = models.CharField(max_length=255)
    source_ip = models.CharField(max_length=64)
    envelope_from = models.CharField(max_length=255, blank=True, default="")
    spf = models.CharField(max_length=16)  # the SPF result for envelope_from
    dkim = models.CharField(max_length=600, blank=True, default="")  # "result d s" per signature, ";"-separated
    policy_spf = models.CharField(max_length=8)  # DMARC-aligned pass | fail
    policy_dkim = models.CharField(max_length=8)
    disposition = models.CharField(max_length=16)  # none | quarantine | reject
    reason = models.CharField(max_length=24, blank=True, default="")  # a PolicyOverrideType, e.g. trusted_forwarder
    count = models.IntegerField(default=0)

    class Meta:
        app_label = "mailboxes"
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "day",
                    "header_from",
                    "source_ip",
                    "envelope_from",
                    "spf",
                    "dkim",
                    "policy_spf",
                    "policy_dkim",
                    "disposition",
                    "reason",
                ],
                name="dmarc_verdict_key",
            )
        ]


class DmarcReport(models.Model):
    """One aggregate report another receiver sent about one of our domains."""

    domain = models.CharField(max_length=255, db_index=True)  # policy_published/domain
    org_name = models.CharField(max_length=255)
    email = models.CharField(max_length=255, blank=True, default="")
    report_id = models.CharField(max_length=255)
    begin = models.DateTimeField()
    end = models.DateTimeField()
    received = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "mailboxes"
        constraints = [models.UniqueConstraint(fields=["org_name", "report_id", "domain"], name="dmarc_report_key")]


class DmarcReportRow(models.Model):
    """One <record> of a received report."""

    report = models.ForeignKey(DmarcReport, on_delete=models.CASCADE, related_name="rows")
    source_ip = models.CharField(max_length=64)
    count = models.IntegerField()
    header_from = models.CharField(max_length=255, blank=True, default="")
    disposition = models.CharField(max_length=16, blank=True, default="")
    policy_dkim = models.CharField(max_length=8, blank=True, default="")  # pass | fail
    policy_spf = models.CharField(max_length=8, blank=True, default="")
    dkim = models.CharField(max_length=600, blank=True, default="")  # "result domain" per signature
    spf = models.CharField(max_length=300, blank=True, default="")  # "result domain" per SPF result

    class Meta:
        app_label = "mailboxes"
