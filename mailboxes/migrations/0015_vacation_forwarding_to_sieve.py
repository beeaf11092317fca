"""The webmail's vacation and forwarding settings become Sieve (issue #20):
each account's settings are written as the managed section of its active
script (mailboxes/sieve/managed.py), a script named "webmail" made and
activated for an account that has none; who has had a vacation reply
(VacationReply) is carried into SieveSeen under the key the vacation action
uses, so nobody is answered twice. 0016 drops the old columns and table.

Uses mailboxes.sieve.managed, which is pure (text in, text out): a later
change to the section's form writes that form here too, which is what a
migration run later should write."""
from __future__ import annotations

import hashlib
import logging
from datetime import timedelta

from django.db import migrations

log = logging.getLogger("mailboxes.migrations")
SCRIPT_NAME = "webmail"


def vacation_handle(body: str, subject: str) -> str:
    """The handle the interpreter gives `vacation :days N [:subject S] BODY`
    (mailboxes/sieve/interpreter.py: reason, subject, from, :mime)."""
    return hashlib.sha256("\0".join([body, subject, "", "False"]).encode()).hexdigest()[:32]


def seen_key(key: str) -> str:
    """As mailboxes/store/sieve_delivery.seen_key."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def settings_to_sieve(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    from mailboxes.sieve import SieveError, managed

    settings_model = apps.get_model("mailboxes", "AccountSettings")
    scripts = apps.get_model("mailboxes", "SieveScript")
    replies = apps.get_model("mailboxes", "VacationReply")
    seen = apps.get_model("mailboxes", "SieveSeen")
    rows = settings_model.objects.exclude(vacation_enabled=False, vacation_body="", forward_to="")
    for row in rows.order_by("account_id"):
        said = managed.Settings(row.vacation_enabled, row.vacation_subject, row.vacation_body.replace("\r\n", "\n"),
                                row.vacation_days, row.forward_to, row.forward_keep_copy or not row.forward_to)
        section = managed.section(said)
        if not section:
            continue
        active = scripts.objects.filter(account_id=row.account_id, active=True).first()
        if active is None:
            taken = set(scripts.objects.filter(account_id=row.account_id).values_list("name", flat=True))
            name = next(n for n in (SCRIPT_NAME, *(f"{SCRIPT_NAME}-{i}" for i in range(2, len(taken) + 3)))
                        if n not in taken)
            scripts.objects.create(account_id=row.account_id, name=name, text=section, active=True)
        else:
            try:
                active.text = managed.with_section(active.text, section)
                active.save(update_fields=["text"])
            except SieveError:  # stored scripts parse; if this one no longer does, keep the settings beside it
                log.warning("account %s: the active script does not parse; vacation and forwarding kept "
                            "in an inactive script", row.account_id)
                scripts.objects.update_or_create(account_id=row.account_id, name="vacation and forwarding",
                                                 defaults={"text": section})
        if said.vacation_body:
            handle = vacation_handle(said.vacation_body, said.vacation_subject)
            for reply in replies.objects.filter(account_id=row.account_id):
                expires = reply.sent_at + timedelta(days=said.vacation_days)
                seen.objects.update_or_create(account_id=row.account_id,
                                              key=seen_key(f"vacation\0{handle}\0{reply.sender}"),
                                              defaults={"expires": expires})


class Migration(migrations.Migration):

    dependencies = [
        ("mailboxes", "0014_merge_account_security"),
    ]

    operations = [
        migrations.RunPython(settings_to_sieve, migrations.RunPython.noop),
    ]
