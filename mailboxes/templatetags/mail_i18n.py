"""Template helpers for the webmail in the reader's language."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext_lazy as _

register = template.Library()

# The special folders (RFC 6154 special use, and INBOX by name) are shown in the
# reader's language; the folder keeps its real name in the store and over IMAP.
SPECIAL_NAMES = {
    "\\Sent": _("Sent"),
    "\\Drafts": _("Drafts"),
    "\\Trash": _("Trash"),
    "\\Junk": _("Junk"),
    "\\Archive": _("Archive"),
}
INBOX_NAME = _("Inbox")


@register.filter
def folder_label(folder: object) -> str:
    """A folder row's name as the reader sees it: special folders translated."""
    name = str(getattr(folder, "name", ""))
    if name == "INBOX":
        return str(INBOX_NAME)
    use = getattr(folder, "special_use", None)
    if use in SPECIAL_NAMES and "/" not in name:
        return str(SPECIAL_NAMES[use])
    return name
