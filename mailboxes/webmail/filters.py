"""The Filters page: the account's Sieve script (docs/SIEVE.md), written by
the rule builder or by hand in the raw editor. A script that is not valid
Sieve is not stored: the page shows it again with the error at its line.
The page edits the active script (or creates one named "webmail" and
activates it), the same script a ManageSieve client sees."""

from __future__ import annotations

from django.contrib import messages as flash
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from mailboxes import sieve, store
from mailboxes.sieve import builder

from .common import account_id, page, store_error
from .folders import sidebar

DEFAULT_NAME = "webmail"
MAX_FIELD = 1000


@page
def filters_view(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "HEAD", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    me = account_id(request)
    active = store.active_script(me)
    name, text = active if active is not None else (DEFAULT_NAME, "")
    error, error_line, rule_error = "", 0, ""
    if request.method == "POST":
        if request.POST.get("do") == "rule":
            try:
                wanted = _with_rule(text, request)
            except builder.RuleError as exc:
                rule_error, wanted = str(exc), text
        else:
            wanted = request.POST.get("script", "").replace("\r\n", "\n")
        if not rule_error:
            try:
                store.put_script(me, name, wanted)
                store.activate_script(me, name)
                flash.success(request, _("Filters saved."))
                return HttpResponseRedirect(reverse("webmail:filters"))
            except store.InvalidScript as exc:
                error, error_line = f"Line {exc.line}: {exc.reason}", exc.line
            except store.ScriptQuotaExceeded:
                error = _("The filters are larger than this server allows.")
            except store.StoreError as exc:
                store_error(request, exc, _("Saving the filters"))
        text = wanted
    lines = [(number, line, number == error_line) for number, line in enumerate(text.split("\n"), 1)]
    return render(
        request,
        "mail/filters.html",
        {
            "folders": sidebar(request),
            "title": _("Filters"),
            "script": text,
            "lines": lines if error_line else [],
            "error": error,
            "error_line": error_line,
            "rule_error": rule_error,
            "name": name,
            "fields": _labels(builder.FIELDS),
            "matches": _labels(builder.MATCHES),
            "actions": _labels(builder.ACTIONS),
            "extensions": " ".join(sieve.EXTENSIONS),
        },
        status=400 if error or rule_error else 200,
    )


def _with_rule(text: str, request: HttpRequest) -> str:
    p = request.POST
    rule = builder.Rule(
        field=p.get("field", ""),
        match=p.get("match", "contains"),
        value=p.get("value", "")[:MAX_FIELD],
        header=p.get("header", "")[:MAX_FIELD],
        action=p.get("action", ""),
        argument=p.get("argument", "")[:MAX_FIELD],
        stop=p.get("stop") == "on",
    )
    try:
        extensions = sieve.compile_script(text).extensions
    except sieve.SieveError:
        extensions = frozenset()
    return builder.add_rule(text, extensions, rule)


def _labels(choices: dict[str, str]) -> dict[str, str]:
    """The rule builder's choices in the reader's language."""
    return {key: _(label) for key, label in choices.items()}
