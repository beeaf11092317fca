"""Shared shape of the account-management commands: one clear line and a
non-zero exit for any bad input, and nothing written."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from mailboxes import store
from mailhost.env import parse_size


class StoreCommand(BaseCommand):
    def execute(self, *args, **options):  # type: ignore[no-untyped-def]
        try:
            return super().execute(*args, **options)
        except store.StoreError as exc:
            raise CommandError(str(exc)) from None


def size_arg(text: str) -> int:
    try:
        return parse_size(text)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
