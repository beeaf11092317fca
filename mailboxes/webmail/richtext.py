"""Rich-text compose on the server: the editor's HTML made safe with the very
rules incoming mail is shown by (render.sanitize_html, one nh3 policy), and
the faithful text/plain alternative written from that safe HTML.

The text follows the usual conventions of mail clients: paragraphs and line
breaks kept, *bold*, _italic_, list items as "- " or "1. ", quotes as "> ",
links as "text <url>" (the url alone when it is the text), images as
"[image: name]"."""

from __future__ import annotations

import re
from html import escape
from html.parser import HTMLParser

from .render import sanitize_html

MAX_HTML = 2 * 1024 * 1024
_SPACE = re.compile(r"\s+")
_BLOCKS = {"p", "div", "ul", "ol", "blockquote", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "table", "tr", "hr"}
_NO_SOURCE = re.compile(r"<img(?![^>]*\ssrc=)[^>]*>")  # an image the sanitiser took the source of
_MARKS = {"b": "*", "strong": "*", "i": "_", "em": "_"}


def clean_html(markup: str) -> str:
    """The editor's HTML as it may be stored or sent: no script, no handler,
    no relative or cid: reference, remote images kept (the writer chose them)."""
    return clean_html_with_images(markup, {})[0]


def clean_html_with_images(markup: str, cids: dict[str, str]) -> tuple[str, set[str]]:
    """clean_html, but an image whose cid: reference is a key of cids (lower-
    cased) is kept, referring to cid:<the value>; (HTML, the values used).
    Other cid: references go, as every data:, javascript: or relative one does."""
    clean, _blocked, used = sanitize_html(
        markup[:MAX_HTML], part_url=lambda content_id: "cid:" + content_id, cids=cids, allow_remote=True
    )
    return _NO_SOURCE.sub("", clean), used


def text_lines_html(text: str) -> str:
    """Plain text as the editor's lines (one <div> each)."""
    return "".join(f"<div>{escape(line)}</div>" if line else "<div><br></div>" for line in text.split("\n"))


def quote_html(original: str, said: str, before: str = "") -> str:
    """A reply to an HTML message: room to write, `before` (the signature as
    text), the attribution line, and the original (sanitised) in a blockquote."""
    return (
        f"<div><br></div>{text_lines_html(before.strip(chr(10))) if before.strip() else ''}"
        f"<div>{escape(said)}</div><blockquote>{clean_html(original).strip()}</blockquote>"
    )


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = [""]
        self.quote = 0
        self.lists: list[list[int]] = []  # per open list: [next number] for <ol>, [] for <ul>
        self.links: list[str] = []
        self.link_start: list[int] = []

    def _break(self) -> None:
        if self.lines[-1].strip("> ") or len(self.lines) == 1 or self.lines[-2].strip("> "):
            self.lines.append("")

    def _write(self, text: str) -> None:
        if not self.lines[-1] and self.quote:
            self.lines[-1] = "> " * self.quote
        self.lines[-1] += text

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.lines.append("")
        elif tag in _BLOCKS:
            self._break()
            if tag == "blockquote":
                self.quote += 1
            elif tag in ("ul", "ol"):
                self.lists.append([1] if tag == "ol" else [])
        elif tag == "li":
            if self.lines[-1].strip("> "):
                self.lines.append("")
            depth = "  " * max(0, len(self.lists) - 1)
            numbers = self.lists[-1] if self.lists else []
            if numbers:
                self._write(f"{depth}{numbers[0]}. ")
                numbers[0] += 1
            else:
                self._write(f"{depth}- ")
        elif tag in _MARKS:
            self._write(_MARKS[tag])
        elif tag == "img":  # an inline image (cid:) or a remote one: named in the text
            self._write(f"[image: {(dict(attrs).get('alt') or '').strip() or 'image'}]")
        elif tag == "a":
            self.links.append(dict(attrs).get("href") or "")
            self.link_start.append(len(self.lines[-1]))

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCKS:
            if tag == "blockquote":
                self.quote = max(0, self.quote - 1)
            elif tag in ("ul", "ol") and self.lists:
                self.lists.pop()
            self.lines.append("")
        elif tag == "li":
            self.lines.append("")
        elif tag in _MARKS:
            self._write(_MARKS[tag])
        elif tag == "a" and self.links:
            href, start = self.links.pop(), self.link_start.pop()
            shown = self.lines[-1][start:].strip()
            target = href[7:] if href.startswith("mailto:") else href
            if href and target not in shown:
                self._write(f" <{target}>")

    def handle_data(self, data: str) -> None:
        text = _SPACE.sub(" ", data)
        if not self.lines[-1].strip("> ") or self.lines[-1].endswith(" "):
            text = text.lstrip()  # no space at a line's start, none doubled
        if text:
            self._write(text)


def html_to_text(markup: str) -> str:
    """Plain text for the text/plain alternative of (already clean) HTML."""
    parser = _Text()
    parser.feed(markup)
    parser.close()
    out: list[str] = []
    for line in (line.rstrip() for line in parser.lines):
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip("\n") + "\n"
