"""manage.py certificate: a certificate for MAIL_HOSTNAME from the ACME CA
(MAIL_ACME_DIRECTORY) over HTTP-01, answered by the web app, or TLS-ALPN-01,
answered by this command; see protocols/acme.py."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Obtain (or renew now) the TLS certificate for MAIL_HOSTNAME from the ACME CA (MAIL_ACME_DIRECTORY)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--name",
            action="append",
            default=[],
            metavar="DNS_NAME",
            help="another name for the certificate (repeatable), e.g. mta-sts.example.org",
        )
        parser.add_argument(
            "--challenge",
            choices=["http-01", "tls-alpn-01"],
            default=None,
            help="how to prove the names are ours (default MAIL_ACME_CHALLENGE): http-01 is "
            "answered by the web app on port 80, tls-alpn-01 by this command on "
            "MAIL_ACME_TLS_ALPN_PORT",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from acme import errors as acme_errors
        from requests import RequestException

        from protocols import acme

        try:
            info = acme.obtain(tuple(options["name"]), options["challenge"])
        except (acme_errors.Error, RequestException, RuntimeError) as exc:
            raise CommandError(f"ACME with {settings.MAIL_ACME_DIRECTORY} failed: {exc}") from None
        except OSError as exc:  # after RequestException, which is one
            raise CommandError(
                f"cannot answer TLS-ALPN-01 on port {settings.MAIL_ACME_TLS_ALPN_PORT}: {exc.strerror or exc}"
            ) from None
        self.stdout.write(
            f"certificate for {', '.join(info.names)} written to {info.path}, "
            f"valid until {info.not_after:%Y-%m-%d %H:%M} UTC; workers load it within "
            f"{settings.MAIL_TLS_RELOAD_INTERVAL} s"
        )
