"""Trigram indexes so IMAP SEARCH TEXT/BODY/SUBJECT... and the webmail search
are answered by PostgreSQL's index, not a scan (Django's icontains compiles to
UPPER(col) LIKE UPPER(pattern), hence the UPPER() expression indexes).
SQLite (the embedded default) has no such index and scans."""
from django.db import migrations

COLUMNS = ("body_text", "header_text", "subject", "from_text", "to_text")


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column in COLUMNS:
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS blob_{column}_trgm ON mailboxes_blob '
            f'USING gin (UPPER("{column}"::text) gin_trgm_ops)')


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in COLUMNS:
        schema_editor.execute(f"DROP INDEX IF EXISTS blob_{column}_trgm")


class Migration(migrations.Migration):
    dependencies = [("mailboxes", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]
