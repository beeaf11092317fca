"""System checks: misconfiguration is caught at start, with a clear message."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Warning, register


@register()
def mail_settings(app_configs, **kwargs):  # type: ignore[no-untyped-def]
    problems = []
    if not settings.MAIL_HOSTNAME or " " in settings.MAIL_HOSTNAME:
        problems.append(Error(f"MAIL_HOSTNAME={settings.MAIL_HOSTNAME!r} is not a host name", id="mailhost.E001"))
    used: dict[int, str] = {}
    for name, port in settings.MAIL_PORTS.items():
        if port and port in used:
            problems.append(Error(f"{name} and {used[port]} are both set to port {port}", id="mailhost.E002"))
        used[port] = name
    if settings.MAIL_ALLOW_PLAINTEXT_AUTH:
        problems.append(
            Warning("MAIL_ALLOW_PLAINTEXT_AUTH is on: passwords may cross the network in clear", id="mailhost.W001")
        )
    problems += _rspamd_settings()
    return problems


def _rspamd_settings() -> list[Error | Warning]:
    """The spam filter's addresses (docs/SPAM.md)."""
    problems: list[Error | Warning] = []
    for name in ("MAIL_RSPAMD_URL", "MAIL_RSPAMD_CONTROLLER_URL"):
        value = getattr(settings, name)
        if value and not value.startswith(("http://", "https://")):
            problems.append(Error(f"{name}={value!r} is not an http:// or https:// URL", id="mailhost.E003"))
    if settings.MAIL_RSPAMD_CONTROLLER_URL and not settings.MAIL_RSPAMD_PASSWORD:
        problems.append(
            Warning(
                "MAIL_RSPAMD_CONTROLLER_URL is set without MAIL_RSPAMD_PASSWORD: rspamd refuses "
                "to learn from other hosts without its controller password",
                id="mailhost.W002",
            )
        )
    return problems
