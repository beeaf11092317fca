"""Forms of the dashboard. They only parse what the administrator typed;
whether it may be done is the store's decision (mailboxes/store/admin.py)."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from mailhost.env import parse_size

_UNITS = (("T", 1024**4), ("G", 1024**3), ("M", 1024**2), ("K", 1024))


def size_text(value: int) -> str:
    """1073741824 -> '1G'; the inverse of parse_size for whole units."""
    for suffix, unit in _UNITS:
        if value and value % unit == 0:
            return f"{value // unit}{suffix}"
    return str(value)


class SizeField(forms.CharField):
    """A byte count typed as 500M, 2G, 0 (unlimited); blank is None when not required."""

    def prepare_value(self, value: Any) -> Any:
        return size_text(value) if isinstance(value, int) else value

    def to_python(self, value: Any) -> int | None:
        text = super().to_python(value)
        if not text:
            return None
        try:
            return parse_size(text)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None


class AddressListField(forms.CharField):
    """Addresses separated by commas, spaces or lines."""

    widget = forms.Textarea(attrs={"rows": 3})

    def prepare_value(self, value: Any) -> Any:
        return "\n".join(value) if isinstance(value, (list, tuple)) else value

    def to_python(self, value: Any) -> list[str]:
        return [t for t in re.split(r"[\s,;]+", super().to_python(value) or "") if t]


class DomainCreateForm(forms.Form):
    name = forms.CharField(max_length=253, label=_("Name"))
    default_quota = SizeField(
        required=False,
        label=_("Default quota"),
        help_text=_("e.g. 500M, 2G; 0 = unlimited; blank = the server default"),
    )
    max_accounts = forms.IntegerField(min_value=0, initial=0, label=_("Max accounts"), help_text=_("0 = no limit"))


class DomainSettingsForm(forms.Form):
    """Limits (active, maximum accounts, external forwards) only for superusers."""

    default_quota = SizeField(
        required=False, label=_("Default quota"), help_text=_("quota of new accounts; 0 = the server default")
    )
    trash_retention_days = forms.IntegerField(min_value=1, max_value=3650, label=_("Keep Trash and Junk for (days)"))
    catch_all = AddressListField(
        required=False, label=_("Catch all"), help_text=_("where mail to unknown addresses goes; blank = nowhere")
    )
    active = forms.BooleanField(required=False, label=_("Active"))
    max_accounts = forms.IntegerField(min_value=0, label=_("Max accounts"), help_text=_("0 = no limit"))
    allow_external_forwards = forms.BooleanField(
        required=False, label=_("Aliases and users may forward to other hosts")
    )
    mta_sts_mode = forms.ChoiceField(
        required=False,
        label=_("MTA-STS policy"),
        choices=[
            ("", _("off: publish no policy")),
            ("testing", _("testing: senders report failures, deliver anyway")),
            ("enforce", _("enforce: senders deliver only over verified TLS to our host")),
            ("none", _("none: withdraw a published policy")),
        ],
        help_text=_("RFC 8461; publish the records on the DNS page and a certificate for mta-sts.<domain>"),
    )
    require_two_factor = forms.BooleanField(
        required=False,
        label=_("Accounts must use two-factor sign-in"),
        help_text=_("an account without it is sent to set it up after its password, and can do nothing else"),
    )

    SUPERUSER_FIELDS = ("active", "max_accounts", "allow_external_forwards")

    def __init__(self, *args: Any, superuser: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not superuser:
            for name in self.SUPERUSER_FIELDS:
                del self.fields[name]


class DkimForm(forms.Form):
    selector = forms.CharField(max_length=63, initial="mail", label=_("Selector"))
    algorithm = forms.ChoiceField(
        choices=[("rsa", "RSA 2048"), ("ed25519", "Ed25519")], initial="rsa", label=_("Algorithm")
    )


class AccountCreateForm(forms.Form):
    address = forms.CharField(max_length=320, label=_("Address"))
    display_name = forms.CharField(max_length=200, required=False, label=_("Display name"))
    password = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        label=_("Password"),
        help_text=_("blank = generate one (shown once)"),
    )
    quota = SizeField(
        required=False, label=_("Quota"), help_text=_("e.g. 500M, 2G; 0 = unlimited; blank = the domain's default")
    )


class AccountUpdateForm(forms.Form):
    display_name = forms.CharField(max_length=200, required=False, label=_("Display name"))
    quota = SizeField(label=_("Quota"), help_text=_("e.g. 500M, 2G; 0 = unlimited"))
    active = forms.BooleanField(required=False, label=_("Active"))


class PasswordForm(forms.Form):
    password = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        label=_("Password"),
        help_text=_("blank = generate one (shown once)"),
    )


class RolesForm(forms.Form):
    superuser = forms.BooleanField(required=False, label=_("Superuser"))
    admin_domains = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, label=_("Domain admin of")
    )

    def __init__(self, *args: Any, domains: tuple[str, ...], superuser: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["admin_domains"].choices = [(d, d) for d in domains]
        if not superuser:
            del self.fields["superuser"]


class SendAsForm(forms.Form):
    address = forms.CharField(
        max_length=320, label=_("Send as"), help_text=_("an address, or @domain for every address of a domain")
    )


class AliasForm(forms.Form):
    source = forms.CharField(
        max_length=320, label=_("Source"), help_text=_("name@domain, or @domain for the catch-all")
    )
    targets = AddressListField(label=_("Targets"), help_text=_("one or more addresses"))


class AliasTargetsForm(forms.Form):
    targets = AddressListField(label=_("Targets"), help_text=_("one or more addresses"))
