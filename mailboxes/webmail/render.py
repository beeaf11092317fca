"""How a stored message is shown: which parts are its body, which are
attachments, and the sanitised HTML. Works on the body structure stored at
delivery (mailboxes.mime), never re-parses the message.

HTML mail is hostile until proven otherwise. nh3 (ammonia) keeps a list of
harmless tags and attributes, drops script, style sheets, forms, frames,
objects and SVG with their content, and every URL scheme but http(s),
mailto and cid. Remote images are removed until the user allows them for
the message; style attributes keep only properties that cannot load
anything (no background images, no url()); cid: images become URLs of the message's own parts; relative
URLs are refused unless they are exactly those. The frame that shows the
result is sandboxed without scripts and has its own CSP, so a sanitiser miss
still cannot run script or load anything.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import nh3
from django.utils.html import urlize

MAX_BODY_PARTS = 20
# Raster formats a browser shows without running anything; never SVG (it may script).
INLINE_IMAGE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp"}

_TAGS = set(nh3.ALLOWED_TAGS) | {"font"}
_REMOVED_WITH_CONTENT = {
    "script",
    "style",
    "title",
    "head",
    "noscript",
    "template",
    "iframe",
    "frame",
    "frameset",
    "object",
    "embed",
    "applet",
    "xmp",
    "noembed",
    "noframes",
    "svg",
    "math",
    "form",
    "textarea",
    "select",
    "button",
    "audio",
    "video",
    "canvas",
}
_ATTRIBUTES: dict[str, set[str]] = {k: set(v) for k, v in nh3.ALLOWED_ATTRIBUTES.items()}
_ATTRIBUTES["*"] = {"style", "dir", "lang", "title", "align", "valign", "width", "height", "bgcolor"}
_ATTRIBUTES["font"] = {"color", "face", "size"}
_ATTRIBUTES["table"] = _ATTRIBUTES.get("table", set()) | {"border", "cellpadding", "cellspacing"}
_ATTRIBUTES["img"] = {"src", "alt", "width", "height", "title", "border"}
_STYLE_PROPERTIES = {
    "color",
    "background-color",
    "font",
    "font-family",
    "font-size",
    "font-style",
    "font-weight",
    "text-align",
    "text-decoration",
    "text-indent",
    "text-transform",
    "line-height",
    "letter-spacing",
    "vertical-align",
    "white-space",
    "word-break",
    "word-wrap",
    "direction",
    "display",
    "list-style-type",
    "margin",
    "margin-top",
    "margin-right",
    "margin-bottom",
    "margin-left",
    "padding",
    "padding-top",
    "padding-right",
    "padding-bottom",
    "padding-left",
    "border",
    "border-top",
    "border-right",
    "border-bottom",
    "border-left",
    "border-color",
    "border-style",
    "border-width",
    "border-collapse",
    "border-spacing",
    "border-radius",
    "width",
    "height",
    "max-width",
    "min-width",
    "max-height",
    "min-height",
    "table-layout",
}
_URL_SCHEMES = {"http", "https", "mailto", "cid"}
_REMOTE = re.compile(r"^\s*(https?:)?//", re.I)


@dataclass(frozen=True)
class Part:
    section: str  # RFC 3501 section, "1.2"
    node: dict  # the stored structure of the part

    @property
    def media_type(self) -> str:
        return f"{self.node['type']}/{self.node['subtype']}"

    @property
    def filename(self) -> str:
        name = self.node.get("filename")
        if name:
            return name
        if self.media_type == "message/rfc822":
            return "message.eml"
        return f"part-{self.section}"

    @property
    def size(self) -> int:
        _h, start, end = self.node["offsets"]
        return end - start

    @property
    def content_id(self) -> str:
        return (self.node.get("id") or "").strip().strip("<>")


@dataclass(frozen=True)
class Layout:
    text_parts: list[Part]
    html: Part | None
    attachments: list[Part]


def _is_attachment(node: dict) -> bool:
    disposition = node.get("disposition")
    if disposition and disposition[0] == "attachment":
        return True
    return node["type"] != "text" or bool(node.get("filename"))


def _has_html(node: dict, depth: int = 0) -> bool:
    if (node["type"], node["subtype"]) == ("text", "html"):
        return True
    return depth < 8 and any(_has_html(child, depth + 1) for child in node.get("parts") or [])


def layout(structure: dict) -> Layout:
    """Split a message into body parts (text, and at most one HTML part shown
    in the frame) and attachments. Of a multipart/alternative the HTML
    alternative is shown when there is one, else the plain text."""
    text: list[Part] = []
    html: list[Part] = []
    attachments: list[Part] = []
    stack: list[tuple[dict, list[int]]] = [(structure, [])]
    while stack:
        node, section = stack.pop()
        children = node.get("parts")
        if children:
            numbered = [(child, section + [i]) for i, child in enumerate(children, 1)]
            if node["subtype"] == "alternative":
                # RFC 2046 5.1.4: the last alternative is the richest; show the last with HTML.
                rich = [c for c in numbered if _has_html(c[0])]
                plain = [c for c in numbered if (c[0]["type"], c[0]["subtype"]) == ("text", "plain")]
                numbered = rich[-1:] or plain[:1] or numbered[-1:]
            stack.extend(reversed(numbered))
            continue
        part = Part(".".join(map(str, section or [1])), node)
        if _is_attachment(node) or len(text) + len(html) >= MAX_BODY_PARTS:
            attachments.append(part)
        elif node["subtype"] == "html" and not html:
            html.append(part)
        elif node["subtype"] == "html":
            attachments.append(part)
        else:
            text.append(part)
    return Layout(text, html[0] if html else None, attachments)


def parse_section(text: str) -> list[int] | None:
    if not re.fullmatch(r"[1-9][0-9]{0,4}(\.[1-9][0-9]{0,4}){0,31}", text):
        return None
    return [int(n) for n in text.split(".")]


def cid_map(parts: list[Part]) -> dict[str, str]:
    """Content-ID (without angle brackets, lower-cased) -> section."""
    return {p.content_id.lower(): p.section for p in parts if p.content_id}


def sanitize_html(
    markup: str, *, part_url: Callable[[str], str], cids: dict[str, str], allow_remote: bool
) -> tuple[str, int, set[str]]:
    """(safe HTML, number of remote images blocked, sections shown inline by cid:)."""
    blocked = 0
    inline: set[str] = set()
    own_prefix = part_url("")

    def attribute(tag: str, name: str, value: str) -> str | None:
        nonlocal blocked
        if tag == "img" and name == "src":
            if value.lower().startswith("cid:"):
                section = cids.get(value[4:].strip().strip("<>").lower())
                if section is None:
                    return None
                inline.add(section)
                return part_url(section)
            if _REMOTE.match(value) and not allow_remote:
                blocked += 1
                return None
        return value

    def relative(url: str) -> str | None:
        return url if url.startswith(own_prefix) else None

    clean = nh3.clean(
        markup,
        tags=_TAGS,
        clean_content_tags=_REMOVED_WITH_CONTENT,
        attributes=_ATTRIBUTES,
        attribute_filter=attribute,
        url_schemes=_URL_SCHEMES,
        url_relative=relative,
        filter_style_properties=_STYLE_PROPERTIES,
        link_rel="noopener noreferrer",
        set_tag_attribute_values={"a": {"target": "_blank"}},
        strip_comments=True,
    )
    return clean, blocked, inline


def text_to_html(text: str) -> str:
    """Plain text, escaped, with web and mail links made clickable."""
    linked = urlize(text, nofollow=True, autoescape=True)
    return linked.replace(' rel="nofollow"', ' rel="nofollow noopener noreferrer" target="_blank"')


def short_name(display: str) -> str:
    """'Jörg <a@b.test>, x@y.test' -> 'Jörg' (the first mailbox's name, else its address)."""
    from email.utils import getaddresses

    pairs = getaddresses([display]) if display else []
    if not pairs:
        return display
    name, address = pairs[0]
    return name or address or display
