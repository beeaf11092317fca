"""The webmail's rule builder: one rule (a condition and an action) written
as readable Sieve, added to a script. Pure; the view checks the result with
compile_script before it is stored."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils.translation import gettext_noop

# The labels are English; the webmail shows them translated (marked here for makemessages).
FIELDS = {
    "from": gettext_noop("From"),
    "to": gettext_noop("To or Cc"),
    "subject": gettext_noop("Subject"),
    "header": gettext_noop("Header"),
    "size": gettext_noop("Size over"),
    "spam": gettext_noop("Spam score at least"),
}
MATCHES = {"contains": gettext_noop("contains"), "is": gettext_noop("is"), "matches": gettext_noop("matches (* and ?)")}
ACTIONS = {
    "move": gettext_noop("Move to folder"),
    "copy": gettext_noop("Copy to folder"),
    "read": gettext_noop("Mark as read"),
    "flag": gettext_noop("Flag"),
    "forward": gettext_noop("Forward to"),
    "reject": gettext_noop("Reject with"),
    "discard": gettext_noop("Discard"),
}
_HEADER_NAME = re.compile(r"[!-9;-~]{1,76}")
_SIZE = re.compile(r"([0-9]{1,9})([KMG]?)", re.IGNORECASE)
_ADDRESS = re.compile(r"[^@\s\"<>]+@[^@\s\"<>]+")


class RuleError(ValueError):
    """A rule that cannot be written; the message is a fixed phrase for the form."""


@dataclass(frozen=True, kw_only=True)
class Rule:
    field: str
    match: str = "contains"
    value: str = ""
    header: str = ""  # the field's name when field == "header"
    action: str
    argument: str = ""  # folder, address or reason
    stop: bool = False


def quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def rule_text(rule: Rule) -> tuple[set[str], str]:
    """(extensions it needs, its Sieve text)."""
    needs: set[str] = set()
    condition = _condition(rule, needs)
    action = _action(rule, needs)
    summary = (
        f"{FIELDS.get(rule.field, rule.field)} {rule.value} -> {ACTIONS.get(rule.action, rule.action)} "
        f"{rule.argument}".strip()
    )
    body = f"    {action}\n" + ("    stop;\n" if rule.stop else "")
    return needs, f"# rule: {' '.join(summary.split())}\nif {condition} {{\n{body}}}\n"


def add_rule(script: str, extensions: frozenset[str], rule: Rule) -> str:
    """The script with the rule at its end and a require line for what it
    lacks at its top (RFC 5228 3.2: several require commands may open a script)."""
    needs, text = rule_text(rule)
    missing = sorted(needs - extensions)
    head = f"require [{', '.join(quote(n) for n in missing)}];\n" if missing else ""
    body = script if not script or script.endswith("\n") else script + "\n"
    return head + body + ("\n" if body else "") + text


def _condition(rule: Rule, needs: set[str]) -> str:
    if rule.field == "size":
        found = _SIZE.fullmatch(rule.value.strip())
        if found is None:
            raise RuleError("a size is a number, optionally followed by K, M or G")
        return f"size :over {found.group(1)}{found.group(2).upper()}"
    if rule.field == "spam":
        if not re.fullmatch(r"[0-9]{1,2}", rule.value.strip()) or not 1 <= int(rule.value) <= 10:
            raise RuleError("a spam score is a number from 1 to 10")
        needs.update({"spamtest", "relational", "comparator-i;ascii-numeric"})
        return f'spamtest :value "ge" :comparator "i;ascii-numeric" {quote(str(int(rule.value)))}'
    if rule.match not in MATCHES:
        raise RuleError("choose how to compare")
    if not rule.value:
        raise RuleError("a condition needs a value")
    names = {"from": quote("from"), "to": '["to", "cc"]', "subject": quote("subject")}
    if rule.field == "header":
        if not _HEADER_NAME.fullmatch(rule.header):
            raise RuleError("a header field name is letters, digits and dashes")
        names["header"] = quote(rule.header)
    if rule.field not in names:
        raise RuleError("choose what to look at")
    return f"header :{rule.match} {names[rule.field]} {quote(rule.value)}"


def _action(rule: Rule, needs: set[str]) -> str:
    argument = rule.argument.strip()
    if rule.action in ("move", "copy"):
        if not argument:
            raise RuleError("name the folder")
        needs.update({"fileinto", "mailbox"} | ({"copy"} if rule.action == "copy" else set()))
        return f"fileinto {':copy ' if rule.action == 'copy' else ''}:create {quote(argument)};"
    if rule.action in ("read", "flag"):
        needs.add("imap4flags")
        return f"addflag {quote(chr(92) + ('Seen' if rule.action == 'read' else 'Flagged'))};"
    if rule.action == "forward":
        if not _ADDRESS.fullmatch(argument):
            raise RuleError("forward to an email address")
        return f"redirect {quote(argument)};"
    if rule.action == "reject":
        needs.add("reject")
        return f"reject {quote(argument or 'This message was not accepted.')};"
    if rule.action == "discard":
        return "discard;"
    raise RuleError("choose an action")
