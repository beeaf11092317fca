"""Folder names and message keys shared by every source and writer. Pure:
no I/O, no Django.

- Modified UTF-7 (RFC 3501 5.1.3, the codec in mailboxes/mutf7.py): how
  IMAP servers and Dovecot's Maildir directories spell non-ASCII folder names.
- Special-use mapping: a remote `Sent Items` or a Maildir `.Sent` becomes our
  Sent (RFC 6154 attributes first, well-known names second).
- Import keys: a message is "already there" when a message with the same
  Message-ID and size is (or, without a Message-ID, the same bytes).
"""

from __future__ import annotations

import hashlib
import re

from ..mutf7 import MailboxNameError, decode_mailbox, encode_mailbox

# Ours, from mailboxes.store.types.SPECIAL_FOLDERS (kept literal: this module imports no Django).
SPECIAL_TARGETS = {"\\Sent": "Sent", "\\Drafts": "Drafts", "\\Trash": "Trash", "\\Junk": "Junk", "\\Archive": "Archive"}
# Names other mail systems give their special folders (case-insensitive).
SPECIAL_NAMES = {
    "\\Sent": (
        "sent",
        "sent items",
        "sent messages",
        "sent mail",
        "sent-mail",
        "[gmail]/sent mail",
        "[google mail]/sent mail",
        "gesendet",
        "gesendete objekte",
        "gesendete elemente",
        "envoyés",
        "éléments envoyés",
        "enviados",
        "elementos enviados",
        "inviata",
        "posta inviata",
        "verzonden",
        "verzonden items",
    ),
    "\\Drafts": (
        "drafts",
        "draft",
        "[gmail]/drafts",
        "[google mail]/drafts",
        "entwürfe",
        "brouillons",
        "borradores",
        "bozze",
        "concepten",
    ),
    "\\Trash": (
        "trash",
        "deleted items",
        "deleted messages",
        "deleted",
        "bin",
        "[gmail]/trash",
        "[gmail]/bin",
        "[google mail]/trash",
        "papierkorb",
        "gelöschte elemente",
        "corbeille",
        "éléments supprimés",
        "papelera",
        "elementos eliminados",
        "cestino",
        "prullenbak",
    ),
    "\\Junk": (
        "junk",
        "spam",
        "junk e-mail",
        "junk email",
        "junk mail",
        "bulk mail",
        "[gmail]/spam",
        "[google mail]/spam",
        "junk-e-mail",
        "unerwünscht",
        "indésirables",
        "correo no deseado",
        "posta indesiderata",
        "ongewenste e-mail",
    ),
    "\\Archive": ("archive", "archives", "archiv", "archivio", "archivo", "archief"),
}
_BY_NAME = {name: use for use, names in SPECIAL_NAMES.items() for name in names}
_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f*%]")


def decode_mutf7(name: str) -> str:
    """Modified UTF-7 to Unicode; a name that is not valid mUTF-7 comes back as it is."""
    if "&" not in name:
        return name
    try:
        return decode_mailbox(name.encode("ascii"))
    except (MailboxNameError, UnicodeEncodeError):
        return name


def encode_mutf7(name: str) -> str:
    return encode_mailbox(name).decode("ascii")


def clean_folder_name(name: str) -> str:
    """A source folder name made acceptable to our store: '/'-separated, no
    empty or relative levels, no control characters or IMAP wildcards."""
    parts = []
    for part in name.split("/"):
        part = _FORBIDDEN.sub("_", part).strip()
        parts.append("_" if part in ("", ".", "..") else part)
    if parts[0].upper() == "INBOX":
        parts[0] = "INBOX"
    return "/".join(parts)[:1000]


def special_use_of(name: str, attributes: tuple[str, ...] = ()) -> str:
    """The special use of a source folder: its RFC 6154 attribute, else a well-known name
    at the top level or directly under INBOX (Courier's INBOX.Sent)."""
    for attribute in attributes:
        for use in SPECIAL_TARGETS:
            if attribute.lower() == use.lower():
                return use
    lowered = name.lower()
    if lowered.startswith("inbox/") and lowered.count("/") == 1:
        lowered = lowered[len("inbox/") :]
    return _BY_NAME.get(lowered, "")


def target_folder(source_name: str, attributes: tuple[str, ...] = ()) -> tuple[str, str]:
    """(our folder name, its special use) for a source folder."""
    use = special_use_of(source_name, attributes)
    if use:
        return SPECIAL_TARGETS[use], use
    return clean_folder_name(source_name), ""


# --- message keys ----------------------------------------------------------

_BLANK_LINE = re.compile(rb"\r?\n\r?\n")
_MESSAGE_ID = re.compile(rb"(?:^|\n)message-id[ \t]*:(.*(?:\r?\n[ \t].*)*)", re.IGNORECASE)
_ANGLE = re.compile(r"<[^<>]*>")

Key = tuple[str, int]


def header_length(raw: bytes) -> int:
    """Octets of the header block, up to and including its last line break
    (0 when the message starts with the empty line, all of it when there is none)."""
    if raw.startswith(b"\n") or raw.startswith(b"\r\n"):
        return 0
    m = _BLANK_LINE.search(raw)
    if m is None:
        return len(raw)
    return m.start() + (2 if raw[m.start() : m.start() + 2] == b"\r\n" else 1)


def normalize_message_id(value: str) -> str:
    """`<id@host>` out of a Message-ID field's value, else the value with its white space folded."""
    m = _ANGLE.search(value)
    return m.group(0) if m else " ".join(value.split())


def raw_message_id(raw: bytes) -> str:
    m = _MESSAGE_ID.search(raw, 0, header_length(raw))
    if m is None:
        return ""
    value = m.group(1)
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        text = value.decode("latin-1")
    return normalize_message_id(text.replace("\x00", "\ufffd"))


def key_of(message_id: str, size: int, sha256: str) -> Key:
    """The import key of a message: Message-ID and size, or the bytes' hash without one."""
    mid = normalize_message_id(message_id)
    return (mid, size) if mid else ("sha256:" + sha256, size)


def key_of_raw(raw: bytes) -> Key:
    mid = raw_message_id(raw)
    return (mid, len(raw)) if mid else ("sha256:" + hashlib.sha256(raw).hexdigest(), len(raw))


FIELD_NAME = re.compile(rb"([!-9;-~]+)[ \t]*:")


def starts_with_header(raw: bytes) -> bool:
    """Does the message open with a header field (RFC 5322 2.2)?"""
    return FIELD_NAME.match(raw) is not None
