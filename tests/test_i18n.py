"""The webmail and the dashboard in Italian: every string the code and the
templates mark for translation has an Italian translation, and the main pages
have no English left outside the translation tags (as far as a simple check of
the templates can tell)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "locale" / "it" / "LC_MESSAGES" / "django.po"
TEMPLATES = ROOT / "templates"
# Every page of the webmail and the dashboard.
MAIN_PAGES = sorted(
    str(p.relative_to(TEMPLATES))
    for folder in ("mail", "manage", "transfer")
    for p in (TEMPLATES / folder).rglob("*.html")
)
# Not words of a language: the product's name, keyboard keys, protocol and host names.
NOT_ENGLISH = {"Mailhost", "Enter", "IMAP", "POP3", "SMTP", "List-Id", "imap.example.com", "TLS (IMAPS)", "STARTTLS"}


def entries(po_text: str) -> list[dict[str, object]]:
    """The .po's entries: msgid, the msgstr values, and whether it is fuzzy."""
    out = []
    for block in po_text.split("\n\n"):
        fields: dict[str, list[str]] = {}
        key = None
        for line in block.splitlines():
            m = re.match(r'^(msgid|msgid_plural|msgstr(?:\[\d\])?) (".*")$', line)
            if m:
                key = m.group(1)
                fields[key] = [m.group(2)]
            elif line.startswith('"') and key:
                fields[key].append(line)
        if "msgid" not in fields:
            continue
        text = {k: "".join(eval(p) for p in v) for k, v in fields.items()}  # noqa: S307  (po strings are C-quoted)
        if text["msgid"] == "":
            continue
        out.append(
            {
                "msgid": text["msgid"],
                "msgstr": [v for k, v in text.items() if k.startswith("msgstr")],
                "fuzzy": "#, fuzzy" in block,
            }
        )
    return out


def untranslated(po_text: str) -> list[str]:
    return [str(e["msgid"]) for e in entries(po_text) if e["fuzzy"] or not e["msgstr"] or not all(e["msgstr"])]  # type: ignore[arg-type]


def test_the_italian_catalogue_translates_every_entry():
    assert untranslated(PO.read_text()) == []
    assert len(entries(PO.read_text())) > 150


def test_the_untranslated_check_finds_an_empty_or_fuzzy_entry():
    assert untranslated('msgid "Inbox"\nmsgstr ""\n\n#, fuzzy\nmsgid "Sent"\nmsgstr "Inviati"\n') == ["Inbox", "Sent"]


def test_makemessages_finds_nothing_new_to_translate(tmp_path):
    """makemessages over a copy of the code: a string marked but not in the
    catalogue comes out empty, a changed one fuzzy."""
    for name in ("mailboxes", "mailhost", "protocols", "templates", "locale"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
    shutil.copy(ROOT / "manage.py", tmp_path / "manage.py")
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "it", "--no-location"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    assert untranslated((tmp_path / "locale" / "it" / "LC_MESSAGES" / "django.po").read_text()) == []


def test_the_compiled_catalogue_is_the_committed_one(tmp_path):
    if not shutil.which("msgfmt"):
        pytest.skip("msgfmt (Debian's gettext) is not installed")
    subprocess.run(["msgfmt", "--check-format", "-o", str(tmp_path / "django.mo"), str(PO)], check=True)
    assert (tmp_path / "django.mo").read_bytes() == PO.with_suffix(".mo").read_bytes()


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self.skip += 1
        for name, value in attrs:
            if name in ("title", "placeholder", "aria-label", "alt", "data-confirm") and value:
                self.check(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self.skip -= 1

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.check(data)

    def check(self, text: str) -> None:
        if text.strip() in NOT_ENGLISH:
            return
        for word in re.findall(r"[A-Za-z]{2,}", text):
            if word not in NOT_ENGLISH:
                self.found.append(text.strip())
                return


def bare_english(template: str) -> list[str]:
    """Text outside the template tags: translations and variables removed first."""
    text = re.sub(r"{%\s*blocktrans.*?{%\s*endblocktrans\s*%}", "", template, flags=re.S)
    # blocks that fill an attribute list or a class name, not text
    text = re.sub(r"{%\s*block (bodyattrs|bodyclass)\s*%}.*?{%\s*endblock\s*%}", "", text, flags=re.S)
    text = re.sub(r"{%.*?%}|{{.*?}}|{#.*?#}", "", text)  # one line each: Django leaves a tag split over lines as text
    parser = _Text()
    parser.feed(text)
    return parser.found


@pytest.mark.parametrize("name", MAIN_PAGES)
def test_the_main_pages_have_no_english_outside_translation_tags(name):
    assert bare_english((TEMPLATES / name).read_text()) == []


def test_the_bare_text_check_finds_english_in_text_and_labels():
    assert bare_english('<p>{% trans "Fine" %} Not fine</p><input aria-label="Search">{{ x }}') == [
        "Not fine",
        "Search",
    ]
    assert bare_english('<p>{% trans "Split over\nlines" %}</p>') != []
