"""Forms of the dashboard. They only parse what the administrator typed;
whether it may be done is the store's decision (mailboxes/store/admin.py)."""
from __future__ import annotations

import re
from typing import Any

from django import forms

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


QUOTA_HELP = "e.g. 500M, 2G; 0 = unlimited"


class DomainCreateForm(forms.Form):
    name = forms.CharField(max_length=253)
    default_quota = SizeField(required=False, help_text=QUOTA_HELP + "; blank = the server default")
    max_accounts = forms.IntegerField(min_value=0, initial=0, help_text="0 = no limit")


class DomainSettingsForm(forms.Form):
    """Limits (active, maximum accounts, external forwards) only for superusers."""

    default_quota = SizeField(required=False, help_text="quota of new accounts; 0 = the server default")
    trash_retention_days = forms.IntegerField(min_value=1, max_value=3650, label="Keep Trash and Junk for (days)")
    catch_all = AddressListField(required=False, help_text="where mail to unknown addresses goes; blank = nowhere")
    active = forms.BooleanField(required=False)
    max_accounts = forms.IntegerField(min_value=0, help_text="0 = no limit")
    allow_external_forwards = forms.BooleanField(required=False, label="Aliases and users may forward to other hosts")
    mta_sts_mode = forms.ChoiceField(required=False, label="MTA-STS policy", choices=[
        ("", "off: publish no policy"), ("testing", "testing: senders report failures, deliver anyway"),
        ("enforce", "enforce: senders deliver only over verified TLS to our host"),
        ("none", "none: withdraw a published policy")],
        help_text="RFC 8461; publish the records on the DNS page and a certificate for mta-sts.<domain>")
    require_two_factor = forms.BooleanField(
        required=False, label="Accounts must use two-factor sign-in",
        help_text="an account without it is sent to set it up after its password, and can do nothing else")

    SUPERUSER_FIELDS = ("active", "max_accounts", "allow_external_forwards")

    def __init__(self, *args: Any, superuser: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not superuser:
            for name in self.SUPERUSER_FIELDS:
                del self.fields[name]


class DkimForm(forms.Form):
    selector = forms.CharField(max_length=63, initial="mail")
    algorithm = forms.ChoiceField(choices=[("rsa", "RSA 2048"), ("ed25519", "Ed25519")], initial="rsa")


class AccountCreateForm(forms.Form):
    address = forms.CharField(max_length=320)
    display_name = forms.CharField(max_length=200, required=False)
    password = forms.CharField(required=False, widget=forms.PasswordInput(render_value=False),
                               help_text="blank = generate one (shown once)")
    quota = SizeField(required=False, help_text=QUOTA_HELP + "; blank = the domain's default")


class AccountUpdateForm(forms.Form):
    display_name = forms.CharField(max_length=200, required=False)
    quota = SizeField(help_text=QUOTA_HELP)
    active = forms.BooleanField(required=False)


class PasswordForm(forms.Form):
    password = forms.CharField(required=False, widget=forms.PasswordInput(render_value=False),
                               help_text="blank = generate one (shown once)")


class RolesForm(forms.Form):
    superuser = forms.BooleanField(required=False)
    admin_domains = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple,
                                              label="Domain admin of")

    def __init__(self, *args: Any, domains: tuple[str, ...], superuser: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["admin_domains"].choices = [(d, d) for d in domains]
        if not superuser:
            del self.fields["superuser"]


class SendAsForm(forms.Form):
    address = forms.CharField(max_length=320, label="Send as",
                              help_text="an address, or @domain for every address of a domain")


class AliasForm(forms.Form):
    source = forms.CharField(max_length=320, help_text="name@domain, or @domain for the catch-all")
    targets = AddressListField(help_text="one or more addresses")


class AliasTargetsForm(forms.Form):
    targets = AddressListField(help_text="one or more addresses")
